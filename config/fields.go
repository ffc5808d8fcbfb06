package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// field is one settable leaf of the configuration tree, addressed by its
// dotted TOML path ("edge.tcp_addr").
type field struct {
	path  string
	value reflect.Value
}

var (
	durationType        = reflect.TypeOf(time.Duration(0))
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// leaves lists every scalar or scalar-slice field under v (a pointer to a
// struct) with its TOML path. Embedded structs are flattened as the TOML
// decoder does; fields tagged `toml:"-"` and unexported fields are skipped.
// Slices of structs (tables arrays) are not leaves: they are set in the file.
func leaves(v any) []field {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic("config: leaves needs a pointer to a struct")
	}
	var out []field
	walk(rv.Elem(), "", &out)
	return out
}

func walk(v reflect.Value, prefix string, out *[]field) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, skip := tomlName(sf)
		if skip {
			continue
		}
		fv := v.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct && name == "" {
			walk(fv, prefix, out)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		switch {
		case settable(sf.Type):
			*out = append(*out, field{path: path, value: fv})
		case sf.Type.Kind() == reflect.Struct:
			walk(fv, path, out)
		case sf.Type.Kind() == reflect.Pointer && sf.Type.Elem().Kind() == reflect.Struct:
			if fv.IsNil() {
				fv.Set(reflect.New(sf.Type.Elem()))
			}
			walk(fv.Elem(), path, out)
		}
	}
}

// tomlName returns the key of a struct field as the TOML decoder sees it;
// an empty name on an anonymous field means "flatten".
func tomlName(sf reflect.StructField) (name string, skip bool) {
	tag, ok := sf.Tag.Lookup("toml")
	if !ok {
		if sf.Anonymous {
			return "", false
		}
		return sf.Name, false
	}
	name, _, _ = strings.Cut(tag, ",")
	if name == "-" {
		return "", true
	}
	return name, false
}

// settable reports whether a string can be parsed into a value of type t.
func settable(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Struct && t.Elem().Kind() != reflect.Slice && settable(t.Elem())
	}
	return false
}

// parseInto parses s into v according to v's type. Slices take a
// comma-separated list; an empty string sets an empty slice.
func parseInto(v reflect.Value, s string) error {
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
			return u.UnmarshalText([]byte(s))
		}
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration like \"5s\": %w", err)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("want a non-negative integer, got %q", s)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		v.SetFloat(f)
	case reflect.Slice:
		parts := []string{}
		if strings.TrimSpace(s) != "" {
			parts = strings.Split(s, ",")
		}
		sl := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := parseInto(sl.Index(i), strings.TrimSpace(p)); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
		}
		v.Set(sl)
	default:
		return fmt.Errorf("cannot set a %s from text", v.Type())
	}
	return nil
}

// Set assigns the text value to the leaf at the dotted TOML path of cfg
// (a pointer to a struct), for example Set(&c, "edge.tcp_addr", ":3101").
func Set(cfg any, path, value string) error {
	for _, f := range leaves(cfg) {
		if f.path == path {
			if err := parseInto(f.value, value); err != nil {
				return fmt.Errorf("config: %s: %w", path, err)
			}
			return nil
		}
	}
	return fmt.Errorf("config: unknown key %q", path)
}

// Keys lists the dotted paths that Set and the environment accept.
func Keys(cfg any) []string {
	fs := leaves(cfg)
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.path
	}
	return out
}
