package prune

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of a manifest document. Real manifests nest four or five levels (index,
// descriptor, platform or annotations); the bound only stops hostile documents.
const maxJSONDepth = 64

// checkUnambiguous returns an error unless b is exactly one JSON value in which no object has two keys that
// encoding/json would take for the same field, and that nests at most maxJSONDepth levels.
//
// encoding/json keeps the last of duplicate keys and matches keys to fields case-insensitively (with Unicode
// simple folding: "MANIFESTS" and "manifeſts" both fill Manifests); other parsers keep the first key or match
// exactly. A document with {"manifests":[A],"Manifests":[]} would show an index without children to artprune
// and with child A to a registry client, and A would be deleted as dangling. Such documents are refused.
func checkUnambiguous(b []byte) error {
	if len(b) < 1<<30 && unambiguousFast(b) { // the common case, without allocating
		return nil
	}
	return checkUnambiguousSlow(b)
}

// checkUnambiguousSlow is checkUnambiguous on a JSON tokenizer, for every document.
func checkUnambiguousSlow(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys map[string]struct{} // nil in an array
		key  bool                // in an object, the next token is a key (or its end)
	}
	var stack []*frame
	started := false
	for {
		tok, err := dec.Token()
		switch {
		case err == io.EOF && !started:
			return errors.New("empty document")
		case err == io.EOF && len(stack) > 0:
			return io.ErrUnexpectedEOF
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case started && len(stack) == 0:
			return errors.New("data after the top-level value")
		}
		started = true
		d, isDelim := tok.(json.Delim)
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			switch {
			case isDelim && (d == '}' || d == ']'):
				stack = stack[:len(stack)-1]
				continue
			case top.keys != nil && top.key:
				k, _ := tok.(string)
				f := foldKey(k)
				if _, dup := top.keys[f]; dup {
					return fmt.Errorf("key %q appears twice in one object (keys compared as encoding/json does, ignoring case)", k)
				}
				top.keys[f] = struct{}{}
				top.key = false
				continue
			case top.keys != nil:
				top.key = true // this token is the value; a key comes next
			}
		}
		if isDelim {
			f := &frame{}
			if d == '{' {
				f.keys, f.key = make(map[string]struct{}), true
			}
			stack = append(stack, f)
			if len(stack) > maxJSONDepth {
				return fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
			}
		}
	}
}

// foldKey maps a key to a canonical form under Unicode simple folding, so that two keys have the same form
// exactly when strings.EqualFold (and so encoding/json's field matching) holds them equal.
func foldKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range k {
		if r == utf8.RuneError {
			b.WriteRune(r)
			continue
		}
		lo := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			lo = min(lo, f)
		}
		b.WriteRune(lo)
	}
	return b.String()
}
