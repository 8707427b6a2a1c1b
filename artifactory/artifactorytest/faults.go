package artifactorytest

import (
	"bufio"
	"cmp"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Class is an endpoint class, for fault injection and request counters.
type Class string

// Endpoint classes.
const (
	ClassAQL      Class = "aql"      // POST api/search/aql
	ClassDownload Class = "download" // GET/HEAD of repository paths and api/storage
	ClassDelete   Class = "delete"   // DELETE of repository paths
	ClassDocker   Class = "docker"   // the Docker Registry V2 API and its token endpoint
	ClassOther    Class = "other"    // everything else
)

// AllClasses lists every endpoint class in a stable order.
var AllClasses = []Class{ClassAQL, ClassDownload, ClassDelete, ClassDocker, ClassOther}

// ParseClasses parses a comma list of endpoint classes; an empty list means all of them.
func ParseClasses(s string) ([]Class, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Class
	for c := range strings.SplitSeq(s, ",") {
		c = strings.TrimSpace(c)
		switch Class(c) {
		case ClassAQL, ClassDownload, ClassDelete, ClassDocker, ClassOther:
			out = append(out, Class(c))
		default:
			return nil, fmt.Errorf("unknown endpoint class %q (want aql, download, delete, docker or other)", c)
		}
	}
	return out, nil
}

// Fault is a kind of injected failure.
type Fault string

// Fault kinds. FaultAny picks one of the others at random for each faulted request.
const (
	Fault500   Fault = "500"
	Fault503   Fault = "503"
	Fault429   Fault = "429"   // with Retry-After: 1
	FaultReset Fault = "reset" // the connection is closed without an answer
	FaultCut   Fault = "cut"   // the body is cut short: Content-Length promises more than is sent
	// FaultSlow answers correctly, but only after FaultConfig.Slow. It is never picked unless named in Kinds.
	FaultSlow Fault = "slow"
)

// allFaults are the kinds picked when FaultConfig.Kinds is empty.
var allFaults = []Fault{Fault500, Fault503, Fault429, FaultReset, FaultCut}

// DefaultSlow is the delay of FaultSlow when FaultConfig.Slow is zero.
const DefaultSlow = 2 * time.Second

// FaultConfig is the latency and fault setting of the emulator.
type FaultConfig struct {
	Latency time.Duration
	// LatencyClasses limits Latency to these endpoint classes; empty means every class.
	LatencyClasses []Class
	Rate           float64 // 0 turns faults off
	Classes        []Class // empty means every class
	Kinds          []Fault // empty means every kind but FaultSlow
	// Slow is the delay of FaultSlow; zero means DefaultSlow.
	Slow time.Duration
}

// latency returns the latency that applies to class c.
func (fc FaultConfig) latency(c Class) time.Duration {
	if len(fc.LatencyClasses) == 0 || slices.Contains(fc.LatencyClasses, c) {
		return fc.Latency
	}
	return 0
}

func (fc FaultConfig) applies(c Class) bool {
	if fc.Rate <= 0 {
		return false
	}
	if len(fc.Classes) == 0 {
		return true
	}
	for _, x := range fc.Classes {
		if x == c {
			return true
		}
	}
	return false
}

// injector decides, reproducibly for a seed, which requests fail and how.
type injector struct {
	mu  sync.Mutex
	cfg FaultConfig
	rng *rand.Rand
}

func newInjector(seed uint64, cfg FaultConfig) *injector {
	return &injector{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (in *injector) set(cfg FaultConfig) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.cfg = cfg
}

func (in *injector) config() FaultConfig {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cfg
}

// decide returns the latency to apply and the fault to inject ("" for none). A FaultSlow is returned with its
// delay added to the latency; the request is then served normally.
func (in *injector) decide(c Class) (time.Duration, Fault) {
	in.mu.Lock()
	defer in.mu.Unlock()
	latency := in.cfg.latency(c)
	if !in.cfg.applies(c) || in.rng.Float64() >= in.cfg.Rate {
		return latency, ""
	}
	kinds := in.cfg.Kinds
	if len(kinds) == 0 {
		kinds = allFaults
	}
	f := kinds[in.rng.IntN(len(kinds))]
	if f == FaultSlow {
		latency += cmp.Or(in.cfg.Slow, DefaultSlow)
	}
	return latency, f
}

// Stats counts requests per endpoint class.
type Stats struct {
	counts [5]atomic.Int64
}

func classIndex(c Class) int {
	for i, x := range AllClasses {
		if x == c {
			return i
		}
	}
	return len(AllClasses) - 1
}

func (s *Stats) add(c Class) { s.counts[classIndex(c)].Add(1) }

// Snapshot returns the counters by class name and their total.
func (s *Stats) Snapshot() (map[string]int64, int64) {
	out := make(map[string]int64, len(AllClasses))
	var total int64
	for i, c := range AllClasses {
		n := s.counts[i].Load()
		out[string(c)] = n
		total += n
	}
	return out, total
}

// Reset zeroes the counters.
func (s *Stats) Reset() {
	for i := range s.counts {
		s.counts[i].Store(0)
	}
}

// serveFault answers r with fault f, running next to produce the body when the fault needs one.
func serveFault(w http.ResponseWriter, r *http.Request, f Fault, next http.Handler) {
	switch f {
	case Fault500:
		writeErrors(w, http.StatusInternalServerError, "Internal Server Error (injected by the emulator)")
	case Fault503:
		w.Header().Set("Retry-After", "1")
		writeErrors(w, http.StatusServiceUnavailable, "Service Unavailable (injected by the emulator)")
	case Fault429:
		w.Header().Set("Retry-After", "1")
		writeErrors(w, http.StatusTooManyRequests, "Too Many Requests (injected by the emulator)")
	case FaultReset:
		hijackAndClose(w, nil)
	case FaultCut:
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) < 2 || r.Method == http.MethodHead {
			hijackAndClose(w, nil)
			return
		}
		var head strings.Builder
		fmt.Fprintf(&head, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
		for k, vs := range rec.Header() {
			if strings.EqualFold(k, "Content-Length") {
				continue
			}
			for _, v := range vs {
				fmt.Fprintf(&head, "%s: %s\r\n", k, v)
			}
		}
		head.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n")
		hijackAndClose(w, append([]byte(head.String()), body[:len(body)/2]...))
	}
}

// hijackAndClose takes over the connection, writes raw (if any) and closes it with a reset.
func hijackAndClose(w http.ResponseWriter, raw []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2 or a recorder: the closest we can do is an aborted handler.
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if len(raw) > 0 {
		writeRaw(buf, raw)
	}
	if tcp, ok := conn.(*net.TCPConn); ok && len(raw) == 0 {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func writeRaw(buf *bufio.ReadWriter, raw []byte) {
	_, _ = buf.Write(raw)
	_ = buf.Flush()
}
