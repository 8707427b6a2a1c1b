package aql

import (
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// timeLayout is Artifactory's timestamp format: ISO-8601 with milliseconds,
// "Z" in UTC and "+hh:mm" elsewhere.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// flushSize is the buffered size at which WriteJSON hands bytes to the writer.
const flushSize = 32 << 10

// WriteJSON streams the response body as Artifactory does:
// {"results":[...],"range":{...}} (compact: Artifactory pretty-prints the same
// structure, and clients parse it as JSON). Each result carries the included
// primary fields in include order, omitting fields the item has no value for,
// then "properties":[{"key":k,"value":v},...] when properties are included
// and the item has any. loc is the server's time zone for timestamps (nil
// means UTC).
//
// range follows Artifactory 6.20's AqlJsonStreamer literally (reference §8):
// start_pos is the offset, end_pos and total are both the number of rows in
// this response (not offset+rows, not the number of matches); "limit" appears
// only when the query has .limit(n), "notification" only when res.Trimmed.
func (q *Query) WriteJSON(w io.Writer, res Result, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	buf := make([]byte, 0, flushSize+4096)
	buf = append(buf, `{"results":[`...)
	for i, r := range res.Rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = q.appendRow(buf, r, loc)
		if len(buf) >= flushSize {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, `],"range":`...)
	buf = q.appendRange(buf, res)
	buf = append(buf, '}')
	_, err := w.Write(buf)
	return err
}

// appendRange appends the range object.
func (q *Query) appendRange(buf []byte, res Result) []byte {
	n := int64(len(res.Rows))
	buf = append(buf, `{"start_pos":`...)
	buf = strconv.AppendInt(buf, int64(q.offset), 10)
	buf = append(buf, `,"end_pos":`...)
	buf = strconv.AppendInt(buf, n, 10)
	buf = append(buf, `,"total":`...)
	buf = strconv.AppendInt(buf, n, 10)
	if q.hasLimit {
		buf = append(buf, `,"limit":`...)
		buf = strconv.AppendInt(buf, int64(q.limit), 10)
	}
	if res.Trimmed {
		buf = append(buf, `,"notification":`...)
		buf = appendJSONString(buf, TrimmedNotification)
	}
	return append(buf, '}')
}

// appendRow appends one result object.
func (q *Query) appendRow(buf []byte, r Row, loc *time.Location) []byte {
	buf = append(buf, '{')
	first := true
	var v fieldVal
	typed, _ := r.(TypedRow)
	for _, f := range q.include.fields {
		if !v.read(r, typed, f) {
			continue
		}
		info := &fieldTable[f]
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendJSONString(buf, info.name)
		buf = append(buf, ':')
		switch info.kind {
		case kindString:
			buf = appendJSONString(buf, v.s)
		case kindInt:
			buf = strconv.AppendInt(buf, v.n, 10)
		default:
			buf = append(buf, '"')
			buf = v.t.In(loc).AppendFormat(buf, timeLayout)
			buf = append(buf, '"')
		}
	}
	if q.include.hasProps() {
		n := len(buf)
		buf = q.appendProperties(buf, r.Properties(), first)
		first = first && len(buf) == n
	}
	if len(q.include.stats) > 0 {
		buf = q.appendStats(buf, r, first, loc)
	}
	return append(buf, '}')
}

// appendProperties appends "properties":[...] unless no included property
// has a value: all keys in sorted order when all properties are included,
// otherwise the included keys in include order.
func (q *Query) appendProperties(buf []byte, props map[string][]string, first bool) []byte {
	var keys []string
	if q.include.allProps {
		for k, vals := range props {
			if len(vals) > 0 {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
	} else {
		for _, k := range q.include.propKeys {
			if len(props[k]) > 0 {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return buf
	}
	if !first {
		buf = append(buf, ',')
	}
	buf = append(buf, `"properties":[`...)
	for i, k := range keys {
		for j, v := range props[k] {
			if i > 0 || j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"key":`...)
			buf = appendJSONString(buf, k)
			buf = append(buf, `,"value":`...)
			buf = appendJSONString(buf, v)
			buf = append(buf, '}')
		}
	}
	return append(buf, ']')
}

// appendJSONString appends s as a JSON string literal. Invalid UTF-8 is
// replaced by U+FFFD so the output is always valid JSON.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
