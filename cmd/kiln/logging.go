package main

import (
	"io"
	"log/slog"

	"github.com/kilnbuild/kiln/internal/config"
)

// newLogger builds the process logger from the log section; config
// validation has already vouched for the level and format names.
func newLogger(c config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
