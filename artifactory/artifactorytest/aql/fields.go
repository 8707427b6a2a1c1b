package aql

import (
	"strconv"
	"strings"
	"time"
)

// fieldID identifies a primary field of the items domain.
type fieldID uint8

// The primary fields of the items domain. The order is the output order of
// .include("*").
const (
	fRepo fieldID = iota
	fPath
	fName
	fType
	fSize
	fDepth
	fCreated
	fCreatedBy
	fModified
	fModifiedBy
	fUpdated
	fActualMD5
	fActualSHA1
	fOriginalMD5
	fOriginalSHA1
	fSHA256
	numFields
)

// kind is the value type of a field.
type kind uint8

const (
	kindString kind = iota
	kindInt
	kindTime
)

// fieldInfo describes one primary field.
type fieldInfo struct {
	name string
	kind kind
}

// fieldTable is indexed by fieldID; it is never modified.
var fieldTable = [numFields]fieldInfo{
	fRepo:         {"repo", kindString},
	fPath:         {"path", kindString},
	fName:         {"name", kindString},
	fType:         {"type", kindString},
	fSize:         {"size", kindInt},
	fDepth:        {"depth", kindInt},
	fCreated:      {"created", kindTime},
	fCreatedBy:    {"created_by", kindString},
	fModified:     {"modified", kindTime},
	fModifiedBy:   {"modified_by", kindString},
	fUpdated:      {"updated", kindTime},
	fActualMD5:    {"actual_md5", kindString},
	fActualSHA1:   {"actual_sha1", kindString},
	fOriginalMD5:  {"original_md5", kindString},
	fOriginalSHA1: {"original_sha1", kindString},
	fSHA256:       {"sha256", kindString},
}

// defaultFields are the fields of a result when the query has no include
// section (reference §4: the order Artifactory sends them in).
var defaultFields = []fieldID{fRepo, fPath, fName, fType, fSize, fCreated, fCreatedBy, fModified, fModifiedBy, fUpdated}

// lookupField returns the field with the given name.
func lookupField(name string) (fieldID, bool) {
	for i := range fieldTable {
		if fieldTable[i].name == name {
			return fieldID(i), true
		}
	}
	return 0, false
}

// fieldVal is one field value of the current row, as read through Row.Field.
type fieldVal struct {
	gen uint32 // evalCtx generation the value was read in
	ok  bool   // the row has a value of the right type
	s   string
	n   int64
	t   time.Time
}

// read reads field f of r into v and reports whether r has a value of the
// field's kind; typed is r as a TypedRow, or nil.
func (v *fieldVal) read(r Row, typed TypedRow, f fieldID) bool {
	info := &fieldTable[f]
	if typed != nil {
		var ok bool
		switch info.kind {
		case kindString:
			v.s, ok = typed.StringField(info.name)
		case kindInt:
			v.n, ok = typed.IntField(info.name)
		default:
			v.t, ok = typed.TimeField(info.name)
		}
		return ok
	}
	raw, ok := r.Field(info.name)
	return ok && v.set(info.kind, raw)
}

// set stores raw as a value of kind k and reports whether raw has that kind.
func (v *fieldVal) set(k kind, raw any) bool {
	switch k {
	case kindString:
		s, ok := raw.(string)
		v.s = s
		return ok
	case kindInt:
		n, ok := toInt64(raw)
		v.n = n
		return ok
	default:
		switch t := raw.(type) {
		case time.Time:
			v.t = t
			return true
		case *time.Time:
			if t == nil {
				return false
			}
			v.t = *t
			return true
		}
		return false
	}
}

// toInt64 converts the integer types a Row may reasonably return.
func toInt64(raw any) (int64, bool) {
	switch n := raw.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), true
	}
	return 0, false
}

// timeLayouts are the ISO-8601 forms accepted as time values. A fractional
// second is accepted after the seconds by every layout that has seconds.
var timeLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTimeValue parses a comparison value of a time field: ISO-8601 with or
// without milliseconds, with "Z", "±hh:mm" or "±hhmm" or no zone (taken as
// UTC), or a date alone (midnight UTC).
func parseTimeValue(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseIntValue parses a comparison value of an integer field given as a
// JSON number or a numeric string. A number with a fraction or exponent is
// accepted only when it is integral.
func parseIntValue(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// truncMillis drops sub-millisecond precision: Artifactory stores times in milliseconds.
func truncMillis(t time.Time) int64 { return t.UnixMilli() }

// dateMillis reads the value of a date criterion on field name, as AQL takes it: epoch milliseconds, or ISO-8601.
func dateMillis(v value, name string) (int64, *Error) {
	if v.tok.kind == tokNumber {
		n, ok := parseIntValue(v.text())
		if !ok {
			return 0, badRequest("Invalid date value %q for field %q", v.text(), name)
		}
		return n, nil
	}
	t, ok := parseTimeValue(v.text())
	if !ok {
		return 0, badRequest("Invalid date value %q for field %q: expected ISO-8601, e.g. 2021-05-03T15:47:24.310Z", v.text(), name)
	}
	return truncMillis(t), nil
}
