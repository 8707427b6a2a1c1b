package aql

import (
	"math"
	"strconv"
	"time"
)

// relUnit is a unit of a relative time value ($before / $last).
type relUnit uint8

const (
	unitMillis relUnit = iota
	unitSeconds
	unitMinutes
	unitDays
	unitWeeks
	unitMonths
	unitYears
)

// validRelUnits lists the unit spellings Artifactory accepts, for error messages.
const validRelUnits = "ms, mills, s, seconds, minutes, d, days, w, weeks, mo, months, y, years"

// relUnitOf maps every accepted spelling to its unit. There is no hours unit.
func relUnitOf(s string) (relUnit, bool) {
	switch s {
	case "ms", "mills":
		return unitMillis, true
	case "s", "seconds":
		return unitSeconds, true
	case "minutes":
		return unitMinutes, true
	case "d", "days":
		return unitDays, true
	case "w", "weeks":
		return unitWeeks, true
	case "mo", "months":
		return unitMonths, true
	case "y", "years":
		return unitYears, true
	}
	return 0, false
}

// relTime is a parsed relative time such as "3mo".
type relTime struct {
	n    int
	unit relUnit
}

// parseRelTime parses a relative time value: a decimal number immediately
// followed by a unit, e.g. "10minutes", "2d", "3mo".
func parseRelTime(s string) (relTime, *Error) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 || i == len(s) {
		return relTime{}, badRequest("Invalid relative date format for: %s. Expected a number immediately followed by a unit, one of: %s", s, validRelUnits)
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n > maxRelAmount {
		return relTime{}, badRequest("Invalid relative date format for: %s. The number is out of range", s)
	}
	unit, ok := relUnitOf(s[i:])
	if !ok {
		return relTime{}, badRequest("Invalid relative date format for: %s. Unknown time unit %q; valid units are: %s (there is no hours unit)", s, s[i:], validRelUnits)
	}
	return relTime{n: n, unit: unit}, nil
}

// maxRelAmount bounds the number of a relative time so that the arithmetic cannot overflow.
const maxRelAmount = 1_000_000_000

// before returns now minus the relative time. Days and weeks are calendar
// days in now's location; months and years are calendar months and years.
func (r relTime) before(now time.Time) time.Time {
	switch r.unit {
	case unitMillis:
		return subDuration(now, r.n, time.Millisecond)
	case unitSeconds:
		return subDuration(now, r.n, time.Second)
	case unitMinutes:
		return subDuration(now, r.n, time.Minute)
	case unitDays:
		return now.AddDate(0, 0, -r.n)
	case unitWeeks:
		return now.AddDate(0, 0, -7*r.n)
	case unitMonths:
		return now.AddDate(0, -r.n, 0)
	default:
		return now.AddDate(-r.n, 0, 0)
	}
}

// subDuration returns now minus n units, saturating at the earliest
// representable duration instead of overflowing.
func subDuration(now time.Time, n int, unit time.Duration) time.Time {
	if int64(n) > math.MaxInt64/int64(unit) {
		return now.Add(math.MinInt64)
	}
	return now.Add(-time.Duration(n) * unit)
}
