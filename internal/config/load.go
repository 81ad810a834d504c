package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path on top of Default and validates the
// result. Keys the file leaves out keep their defaults.
func Load(path string) (Config, error) {
	cfg, err := loadOnto(path, Default())
	if err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	return cfg, nil
}

// loadOnto reads the YAML file at path on top of base, without Validate,
// for callers that still apply overrides (flags may fix what the file got
// wrong).
func loadOnto(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	cfg := base
	if err := Decode(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	return cfg, nil
}

// Decode reads YAML into cfg, overwriting only the keys present. An unknown
// key, or a value of the wrong kind, is an error naming the key by its
// dotted path (e.g. "cas.max_size") and line.
//
// It walks the document itself rather than relying on yaml's KnownFields,
// whose errors name Go types instead of the key a user wrote.
func Decode(data []byte, cfg *Config) error {
	var doc yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc)
	if errors.Is(err, io.EOF) {
		return nil // an empty file means all defaults
	}
	if err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return decodeStruct(doc.Content[0], reflect.ValueOf(cfg).Elem(), "")
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

func decodeStruct(n *yaml.Node, out reflect.Value, path string) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // "section:" with nothing under it
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s (line %d): must be a mapping of keys to values", describe(path), n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		keyPath := key.Value
		if path != "" {
			keyPath = path + "." + key.Value
		}
		field, ok := fieldByYAMLName(out, key.Value)
		if !ok {
			return fmt.Errorf("unknown key %q (line %d); known keys here: %s",
				keyPath, key.Line, strings.Join(yamlNames(out.Type()), ", "))
		}
		if field.Kind() == reflect.Struct && !reflect.PointerTo(field.Type()).Implements(textUnmarshalerType) {
			if err := decodeStruct(value, field, keyPath); err != nil {
				return err
			}
			continue
		}
		if err := value.Decode(field.Addr().Interface()); err != nil {
			return fmt.Errorf("%s (line %d): %w", keyPath, value.Line, unwrapYAML(err))
		}
	}
	return nil
}

func describe(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

// unwrapYAML drops yaml's "yaml: unmarshal errors:" preamble, which adds
// nothing once the key is named.
func unwrapYAML(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

func fieldByYAMLName(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if yamlName(t.Field(i)) == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func yamlNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if name := yamlName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}
