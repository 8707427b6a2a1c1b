package aql

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokIdent          // items, find, include, null, ...
	tokString         // "..." with JSON escapes decoded
	tokNumber         // JSON number, raw text
	tokPunct          // one of ( ) { } [ ] : , .
)

// token is one lexical token of a query.
type token struct {
	kind tokKind
	text string // identifier, decoded string, number text or punctuation
	pos  int    // byte offset of the token in the query
}

// is reports whether t is the punctuation character c.
func (t token) is(c byte) bool { return t.kind == tokPunct && len(t.text) == 1 && t.text[0] == c }

// lexError reports the byte offset at which the text cannot be tokenized.
type lexError struct{ pos int }

// tokenize splits text into tokens, skipping whitespace between them.
func tokenize(text string) ([]token, *lexError) {
	var toks []token
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i == len(text) {
			return append(toks, token{kind: tokEOF, pos: i}), nil
		}
		tok, next, ok := lexOne(text, i)
		if !ok {
			return nil, &lexError{pos: i}
		}
		toks = append(toks, tok)
		i = next
	}
}

// lexOne reads the token starting at text[i].
func lexOne(text string, i int) (token, int, bool) {
	c := text[i]
	switch {
	case strings.IndexByte("(){}[]:,.", c) >= 0:
		return token{kind: tokPunct, text: text[i : i+1], pos: i}, i + 1, true
	case c == '"':
		s, next, ok := lexString(text, i)
		return token{kind: tokString, text: s, pos: i}, next, ok
	case c == '-' || isDigit(c):
		next, ok := lexNumber(text, i)
		return token{kind: tokNumber, text: text[i:next], pos: i}, next, ok
	case isIdentStart(c):
		j := i + 1
		for j < len(text) && (isIdentStart(text[j]) || isDigit(text[j])) {
			j++
		}
		return token{kind: tokIdent, text: text[i:j], pos: i}, j, true
	}
	return token{}, i, false
}

// lexNumber scans a JSON number starting at text[i] and returns its end.
func lexNumber(text string, i int) (int, bool) {
	j := i
	if text[j] == '-' {
		j++
	}
	start := j
	for j < len(text) && isDigit(text[j]) {
		j++
	}
	if j == start {
		return j, false
	}
	if j < len(text) && text[j] == '.' && j+1 < len(text) && isDigit(text[j+1]) {
		j += 2
		for j < len(text) && isDigit(text[j]) {
			j++
		}
	}
	if j < len(text) && (text[j] == 'e' || text[j] == 'E') {
		k := j + 1
		if k < len(text) && (text[k] == '+' || text[k] == '-') {
			k++
		}
		if k < len(text) && isDigit(text[k]) {
			for k < len(text) && isDigit(text[k]) {
				k++
			}
			j = k
		}
	}
	return j, true
}

// lexString decodes the JSON string starting at the quote text[i].
func lexString(text string, i int) (string, int, bool) {
	j := i + 1
	// Fast path: no escapes.
	for j < len(text) && text[j] != '"' && text[j] != '\\' && text[j] >= 0x20 {
		j++
	}
	if j < len(text) && text[j] == '"' {
		return text[i+1 : j], j + 1, true
	}
	var b strings.Builder
	b.WriteString(text[i+1 : j])
	for j < len(text) {
		c := text[j]
		switch {
		case c == '"':
			return b.String(), j + 1, true
		case c < 0x20:
			return "", j, false
		case c != '\\':
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(text) {
			return "", j, false
		}
		next, ok := decodeEscape(&b, text, j)
		if !ok {
			return "", j, false
		}
		j = next
	}
	return "", j, false
}

// decodeEscape decodes the escape sequence at the backslash text[j] into b.
func decodeEscape(b *strings.Builder, text string, j int) (int, bool) {
	switch e := text[j+1]; e {
	case '"', '\\', '/':
		b.WriteByte(e)
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		r, ok := hex4(text, j+2)
		if !ok {
			return j, false
		}
		next := j + 6
		if utf16.IsSurrogate(r) {
			if r2, ok2 := hex4(text, j+8); ok2 && text[j+6] == '\\' && text[j+7] == 'u' {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r, next = d, j+12
				}
			}
		}
		b.WriteRune(r)
		return next, true
	default:
		return j, false
	}
	return j + 2, true
}

// hex4 decodes four hex digits at text[i:i+4].
func hex4(text string, i int) (rune, bool) {
	if i+4 > len(text) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(text[i : i+4]) {
		var d byte
		switch {
		case isDigit(c):
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
