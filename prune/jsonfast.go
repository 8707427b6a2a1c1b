package prune

import "encoding/json"

// unambiguousFast is checkUnambiguous's fast path for the documents registries write: it reports true only when b
// is certainly one JSON value that checkUnambiguous accepts, and false when it is not or when it cannot tell
// cheaply (a key with an escape or a non-ASCII byte, an object of many keys); checkUnambiguous then decides. It
// allocates nothing for an ordinary manifest, where checkUnambiguous's tokenizer allocates for every token.
func unambiguousFast(b []byte) bool {
	if !json.Valid(b) {
		return false
	}
	const maxKeys = 32 // per object; more and the slow path decides
	type frame struct {
		object    bool
		expectKey bool
		keys      int // start of this object's keys in keys
	}
	var stackBuf [maxJSONDepth]frame
	var keysBuf [4 * maxKeys][2]int32
	stack, keys := stackBuf[:0], keysBuf[:0]
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) == maxJSONDepth {
				return false
			}
			stack = append(stack, frame{object: c == '{', expectKey: c == '{', keys: len(keys)})
		case '}', ']':
			top := stack[len(stack)-1]
			keys = keys[:top.keys]
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.object {
				top.expectKey = true
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			// The tokenizer reads numbers as float64 and fails on those out of its range: leave any number that
			// could be to it (an exponent, or more digits than sizes and versions have).
			start := i
			for i+1 < len(b) && (b[i+1] == '.' || b[i+1] == '-' || b[i+1] == '+' || b[i+1] == 'e' || b[i+1] == 'E' || ('0' <= b[i+1] && b[i+1] <= '9')) {
				i++
				if b[i] == 'e' || b[i] == 'E' {
					return false
				}
			}
			if i-start >= 20 {
				return false
			}
		case '"':
			start := i + 1
			ascii := true
			for i++; b[i] != '"'; i++ { // json.Valid: the string ends
				switch {
				case b[i] == '\\':
					ascii = false
					i++
				case b[i] >= 0x80:
					ascii = false
				}
			}
			if len(stack) == 0 {
				continue
			}
			top := &stack[len(stack)-1]
			if !top.object || !top.expectKey {
				continue
			}
			top.expectKey = false
			if !ascii || len(keys)-top.keys >= maxKeys || len(keys) == cap(keys) {
				return false
			}
			key := b[start:i]
			for _, k := range keys[top.keys:] {
				if equalFoldASCII(b[k[0]:k[1]], key) {
					return false
				}
			}
			keys = append(keys, [2]int32{int32(start), int32(i)})
		}
	}
	return true
}

// equalFoldASCII reports whether two ASCII keys are equal ignoring case. For ASCII, Unicode simple folding is just
// that: the other members of the orbits of 'k' and 's' (U+212A, U+017F) are not ASCII.
func equalFoldASCII(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
