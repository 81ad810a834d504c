package config

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// Flags binds command-line flags to Config fields on one flag.FlagSet (one
// per subcommand; nothing touches the global flag package). Flags override
// the config file, whatever their order on the command line: each parsed
// flag records an override, and Config applies them after loading the file.
//
// Each subcommand binds the sections it reads (BindUpFlags, BindServeFlags,
// BindWorkerFlags), so that its -help lists only what matters to it.
type Flags struct {
	configPath string
	// defaults is the Config the file and the flags are laid on.
	defaults Config
	// check is what the subcommand needs beyond Validate.
	check     func(Config) error
	overrides []func(*Config)
	// platformSet is true once a -platform flag was parsed: the first
	// one replaces the file's list, later ones add to it.
	platformSet bool
}

func newFlags(fs *flag.FlagSet, defaults Config, check func(Config) error) *Flags {
	f := &Flags{defaults: defaults, check: check}
	fs.StringVar(&f.configPath, "config", "", "YAML config `file`; flags override it")
	return f
}

// Config returns the defaults, overlaid with the config file if -config
// named one, overlaid with the flags that were set, validated.
func (f *Flags) Config() (Config, error) {
	cfg := f.defaults
	cfg.Roles = append([]Role(nil), cfg.Roles...)
	if f.configPath != "" {
		loaded, err := loadOnto(f.configPath, cfg)
		if err != nil {
			return Config{}, err
		}
		cfg = loaded
	}
	for _, override := range f.overrides {
		override(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	if f.check != nil {
		if err := f.check(cfg); err != nil {
			return Config{}, err
		}
	}
	return cfg, nil
}

func (f *Flags) str(fs *flag.FlagSet, name, usage, def string, set func(*Config, string)) {
	fs.Func(name, withDefault(usage, strconv.Quote(def)), func(s string) error {
		f.overrides = append(f.overrides, func(c *Config) { set(c, s) })
		return nil
	})
}

func (f *Flags) integer(fs *flag.FlagSet, name, usage string, def int, set func(*Config, int)) {
	fs.Func(name, withDefault(usage, strconv.Itoa(def)), func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		f.overrides = append(f.overrides, func(c *Config) { set(c, v) })
		return nil
	})
}

func (f *Flags) size(fs *flag.FlagSet, name, usage string, def ByteSize, set func(*Config, ByteSize)) {
	fs.Func(name, withDefault(usage, def.String()), func(s string) error {
		v, err := ParseByteSize(s)
		if err != nil {
			return err
		}
		f.overrides = append(f.overrides, func(c *Config) { set(c, v) })
		return nil
	})
}

func (f *Flags) duration(fs *flag.FlagSet, name, usage string, def time.Duration, set func(*Config, time.Duration)) {
	fs.Func(name, withDefault(usage, def.String()), func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.overrides = append(f.overrides, func(c *Config) { set(c, v) })
		return nil
	})
}

func (f *Flags) boolean(fs *flag.FlagSet, name, usage string, def bool, set func(*Config, bool)) {
	fs.BoolFunc(name, withDefault(usage, strconv.FormatBool(def)), func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.overrides = append(f.overrides, func(c *Config) { set(c, v) })
		return nil
	})
}

// withDefault shows the default in -help, which flag.Func cannot do itself.
func withDefault(usage, def string) string {
	return fmt.Sprintf("%s (default %s)", usage, def)
}
