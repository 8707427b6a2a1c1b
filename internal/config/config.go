// Package config reads artprune's YAML configuration file and the JFrog CLI's own server configuration.
//
// The YAML file mirrors the command line: each key is a flag's long name, each value what the flag takes (a list
// for a repeatable flag). Decoding is strict: anything but a mapping of known keys to scalars or lists of scalars is
// an error that names the key and its line. Which keys are known is the caller's business (see [File.Check]).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Entry is one key of the file.
type Entry struct {
	Key string
	// Values holds the scalar's text, or each element of a list, as written (so "7d" stays "7d").
	Values []string
	// List is true when the value was a YAML sequence.
	List bool
	Line int
}

// File is a parsed configuration file.
type File struct {
	Path    string
	Entries []Entry
}

// maxFileBytes bounds the file: a configuration is a few lines.
const maxFileBytes = 1 << 20

// Load reads and parses the YAML configuration file at path.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("config file %s: larger than %d bytes", path, maxFileBytes)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

// Parse parses a configuration document.
func Parse(b []byte) (*File, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &File{}, nil // an empty file sets nothing
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("line %d: a second YAML document; want one mapping", extra.Line)
	}
	if len(doc.Content) == 0 {
		return &File{}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of flag names to values", root.Line)
	}
	f := &File{}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			return nil, fmt.Errorf("line %d: keys must be flag names", k.Line)
		}
		if prev, dup := seen[k.Value]; dup {
			return nil, fmt.Errorf("line %d: key %q repeats line %d", k.Line, k.Value, prev)
		}
		seen[k.Value] = k.Line
		e := Entry{Key: k.Value, Line: k.Line}
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!null" {
				return nil, fmt.Errorf("line %d: key %q has no value", k.Line, k.Value)
			}
			e.Values = []string{v.Value}
		case yaml.SequenceNode:
			e.List = true
			for _, el := range v.Content {
				if el.Kind != yaml.ScalarNode || el.Tag == "!!null" {
					return nil, fmt.Errorf("line %d: key %q: list elements must be plain values", el.Line, k.Value)
				}
				e.Values = append(e.Values, el.Value)
			}
		case yaml.AliasNode:
			return nil, fmt.Errorf("line %d: key %q: aliases are not supported", v.Line, k.Value)
		default:
			return nil, fmt.Errorf("line %d: key %q: want a value or a list of values", v.Line, k.Value)
		}
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

// Check returns an error naming every key of f that known rejects (known returns false), sorted by line.
func (f *File) Check(known func(key string) bool) error {
	var bad []string
	for _, e := range f.Entries {
		if !known(e.Key) {
			bad = append(bad, fmt.Sprintf("line %d: unknown key %q", e.Line, e.Key))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("config file %s: %s (keys are the long names of artprune's flags)", f.Path, strings.Join(bad, "; "))
	}
	return nil
}

// Get returns the entry for key.
func (f *File) Get(key string) (Entry, bool) {
	i := slices.IndexFunc(f.Entries, func(e Entry) bool { return e.Key == key })
	if i < 0 {
		return Entry{}, false
	}
	return f.Entries[i], true
}
