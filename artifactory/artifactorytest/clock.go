package artifactorytest

import (
	"sync"
	"time"
)

// Clock is the emulator's clock: real time shifted by an offset that tests move forward, so grace periods can be
// tested without sleeping. AQL relative times, item timestamps and the HTTP Date header all follow it.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	loc    *time.Location
	now    func() time.Time
}

// NewClock returns a clock that starts at start (real time when zero) in location loc (UTC when nil).
func NewClock(start time.Time, loc *time.Location) *Clock {
	if loc == nil {
		loc = time.UTC
	}
	c := &Clock{loc: loc, now: time.Now}
	if !start.IsZero() {
		c.offset = start.Sub(c.now())
	}
	return c
}

// Now returns the emulator's current time, in its location, with millisecond precision as Artifactory stores it.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Add(c.offset).In(c.loc).Truncate(time.Millisecond)
}

// Advance moves the clock forward by d (which may not be negative: time never runs backwards on a server).
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Set moves the clock to t if t is later than now.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := t.Sub(c.now().Add(c.offset)); d > 0 {
		c.offset += d
	}
}

// Location returns the server's time zone, used to format timestamps.
func (c *Clock) Location() *time.Location { return c.loc }
