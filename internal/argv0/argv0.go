// Package argv0 owns one rule of REAPI (checklist item 36): which file an
// action's arguments[0] names. Every runner applies it, on the host, inside
// a sandbox or inside a microVM guest, so it lives here once, with no
// dependency heavier than the standard library's os and path (the sandbox
// init imports it and must initialize early).
package argv0

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// ErrNotFound matches (errors.Is) every error of Resolve: arguments[0]
// names no executable file. The errors' own text says only what was looked
// for and where, so that each runner can prefix it with its own words.
var ErrNotFound = errors.New("command not found")

type notFound struct{ msg string }

func (e notFound) Error() string      { return e.msg }
func (notFound) Is(target error) bool { return target == ErrNotFound }

func notFoundf(format string, args ...any) error {
	return notFound{msg: fmt.Sprintf(format, args...)}
}

// Resolve finds the file arg0 names: relative to workDir when it has a
// slash, else through the PATH in env (its last value, as execve reads it),
// or fallbackPath when env sets none. Empty PATH entries mean the working
// directory; relative ones are taken from it. visible, when not nil, says
// whether a path can be seen by the action at all (a runner whose action
// sees only part of the host's tree).
func Resolve(arg0, workDir string, env []string, fallbackPath string, visible func(string) bool) (string, error) {
	usable := func(p string) bool { return (visible == nil || visible(p)) && isExecutableFile(p) }
	if arg0 == "" {
		return "", notFoundf("arguments[0] is empty")
	}
	if strings.Contains(arg0, "/") {
		p := arg0
		if !path.IsAbs(p) {
			p = path.Join(workDir, p)
		}
		if !usable(p) {
			return "", notFoundf("%q (resolved to %s) is not an executable file", arg0, p)
		}
		return p, nil
	}
	pathEnv, ok := LookupEnv(env, "PATH")
	if !ok {
		pathEnv = fallbackPath
	}
	for _, dir := range splitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		if !path.IsAbs(dir) {
			dir = path.Join(workDir, dir)
		}
		if p := path.Join(dir, arg0); usable(p) {
			return p, nil
		}
	}
	return "", notFoundf("%q is in no directory of PATH=%q", arg0, pathEnv)
}

// splitList splits a PATH as filepath.SplitList does on Linux, without
// importing path/filepath (see the package comment).
func splitList(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ":")
}

func isExecutableFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// LookupEnv returns the last value of name in env, as execve would read it.
func LookupEnv(env []string, name string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = v, true
		}
	}
	return val, found
}
