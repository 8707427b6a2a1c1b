package aql

import (
	"strings"
	"unicode/utf8"
)

// glob is a compiled $match / $nmatch pattern. Artifactory turns the value
// into an SQL LIKE pattern by replacing "*" with "%" and "?" with "_" and
// nothing else (Artifactory OSS, Criteria.resolveParam), so the pattern
// language is LIKE's as PostgreSQL evaluates it:
//
//   - "*" and "%" match any string, including the empty string and "/";
//   - "?" and "_" match exactly one character;
//   - a backslash makes the next character literal ("\_" is an underscore);
//   - every other character, including ".", "[", "+", matches itself, case-sensitively.
//
// The whole value must match. The pattern is split at its any-string
// wildcards into segments of fixed character length; the first segment is
// anchored at the start, the last at the end, and the middle ones are found
// leftmost-first, which is exact for this pattern language.
type glob struct {
	segs []segment
	all  bool // the pattern is only any-string wildcards: matches everything
}

// segment is a run of the pattern between any-string wildcards.
type segment struct {
	text string // literal bytes; a one-character wildcard is a placeholder byte
	wild []bool // nil when the segment has no one-character wildcard; else marks them
}

// compileGlob compiles the value of a $match / $nmatch operator.
func compileGlob(pattern string) glob {
	var g glob
	var cur []byte
	var wild []bool
	hasWild := false
	flush := func() {
		s := segment{text: string(cur)}
		if hasWild {
			s.wild = wild
		}
		g.segs = append(g.segs, s)
		cur, wild, hasWild = nil, nil, false
	}
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '*' || c == '%':
			flush()
		case c == '?' || c == '_':
			cur, wild, hasWild = append(cur, 0), append(wild, true), true
		case c == '\\' && i+1 < len(pattern):
			i++
			cur, wild = append(cur, pattern[i]), append(wild, false)
		default:
			cur, wild = append(cur, c), append(wild, false)
		}
	}
	flush()
	g.all = len(g.segs) > 1
	for _, s := range g.segs {
		g.all = g.all && s.text == ""
	}
	return g
}

// match reports whether s matches the whole pattern.
func (g *glob) match(s string) bool {
	if g.all {
		return true
	}
	first := &g.segs[0]
	if len(g.segs) == 1 {
		if first.wild == nil {
			return s == first.text
		}
		end, ok := first.matchPrefix(s)
		return ok && end == len(s)
	}
	start, ok := first.matchPrefix(s)
	if !ok {
		return false
	}
	last := &g.segs[len(g.segs)-1]
	end, ok := last.matchSuffix(s[start:])
	if !ok {
		return false
	}
	rest := s[start : start+end]
	for i := 1; i < len(g.segs)-1; i++ {
		at, n := g.segs[i].index(rest)
		if at < 0 {
			return false
		}
		rest = rest[at+n:]
	}
	return true
}

// matchPrefix matches the segment at the start of s and returns the byte length matched.
func (seg *segment) matchPrefix(s string) (int, bool) {
	if seg.wild == nil {
		return len(seg.text), strings.HasPrefix(s, seg.text)
	}
	i := 0
	for j := 0; j < len(seg.text); j++ {
		if i >= len(s) {
			return 0, false
		}
		if seg.wild[j] {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		if s[i] != seg.text[j] {
			return 0, false
		}
		i++
	}
	return i, true
}

// matchSuffix matches the segment at the end of s and returns where the match starts.
func (seg *segment) matchSuffix(s string) (int, bool) {
	if seg.wild == nil {
		return len(s) - len(seg.text), strings.HasSuffix(s, seg.text)
	}
	i := len(s)
	for j := len(seg.text) - 1; j >= 0; j-- {
		if i <= 0 {
			return 0, false
		}
		if seg.wild[j] {
			_, size := utf8.DecodeLastRuneInString(s[:i])
			i -= size
			continue
		}
		if s[i-1] != seg.text[j] {
			return 0, false
		}
		i--
	}
	return i, true
}

// index finds the leftmost match of the segment in s and returns its start
// and byte length, or -1.
func (seg *segment) index(s string) (int, int) {
	if seg.wild == nil {
		return strings.Index(s, seg.text), len(seg.text)
	}
	for i := 0; i <= len(s); {
		if n, ok := seg.matchPrefix(s[i:]); ok {
			return i, n
		}
		if i == len(s) {
			break
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return -1, 0
}
