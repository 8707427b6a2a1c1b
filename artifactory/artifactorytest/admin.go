package artifactorytest

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveAdmin implements the emulator's own endpoints under /_emulator/, for tests, benchmarks and scripts:
//
//	POST /_emulator/clock?advance=48h     moves the clock forward (also ?set=RFC3339): the server runs ahead of clients
//	POST /_emulator/clock?age=48h         makes every item 48h older, the clock unmoved: time passes for everyone
//	POST /_emulator/faults?latency=10ms&rate=0.2&classes=aql,download,delete,docker[&kinds=500,503,429,reset,cut,slow]
//	                      [&latency_classes=delete][&slow=2s]
//	POST /_emulator/referrers?enabled=false
//	GET  /_emulator/stats                 {"requests":{"aql":N,...},"total":N}
//	POST /_emulator/stats/reset
//	POST /_emulator/trash?enabled=false[&retention_days=14][&api=false]   the Trash Can (trash.go)
//	POST /_emulator/gc                    binary garbage collection: {"purged":[paths purged from the Trash Can]}
//	GET  /_emulator/snapshot              the whole state in the fixture format
//	POST /_emulator/downloads?repo=R&path=P[&origin=O][&by=U][&count=N][&at=RFC3339][&local=true]
//	                                      records downloads of a file through another Artifactory (downloads.go)
//
// They need the admin token (as Bearer, or as the password of user admin). They are never delayed or faulted.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !e.isAdminRequest(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="artprune emulator"`)
		writeErrors(w, http.StatusUnauthorized, "The emulator's admin endpoints need the admin token.")
		return
	}
	q := r.URL.Query()
	route := strings.TrimPrefix(r.URL.Path, "/_emulator/")
	switch {
	case route == "clock" && r.Method == http.MethodPost:
		if s := q.Get("advance"); s != "" {
			d, err := parseAdvance(s)
			if err != nil || d < 0 {
				writeErrors(w, http.StatusBadRequest, "advance: want a positive Go duration or days such as 48h or 7d")
				return
			}
			e.clock.Advance(d)
		}
		if s := q.Get("age"); s != "" {
			d, err := parseAdvance(s)
			if err != nil || d < 0 {
				writeErrors(w, http.StatusBadRequest, "age: want a positive Go duration or days such as 48h or 7d")
				return
			}
			e.store.Age(d)
		}
		if s := q.Get("set"); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				writeErrors(w, http.StatusBadRequest, "set: want an RFC 3339 time")
				return
			}
			e.clock.Set(t)
		}
		writeJSON(w, http.StatusOK, map[string]string{"now": e.formatTime(e.clock.Now())})
	case route == "clock" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"now": e.formatTime(e.clock.Now())})
	case route == "faults" && r.Method == http.MethodPost:
		fc, err := parseFaultQuery(q, e.faults.config())
		if err != nil {
			writeErrors(w, http.StatusBadRequest, err.Error())
			return
		}
		e.faults.set(fc)
		w.WriteHeader(http.StatusNoContent)
	case route == "referrers" && r.Method == http.MethodPost:
		on, err := strconv.ParseBool(q.Get("enabled"))
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "enabled: want true or false")
			return
		}
		e.docker.setReferrers(on)
		w.WriteHeader(http.StatusNoContent)
	case route == "stats" && r.Method == http.MethodGet:
		counts, total := e.stats.Snapshot()
		writeJSON(w, http.StatusOK, map[string]any{"requests": counts, "total": total})
	case route == "trash" && r.Method == http.MethodPost:
		tc, err := parseTrashQuery(q, e.store.Trash())
		if err != nil {
			writeErrors(w, http.StatusBadRequest, err.Error())
			return
		}
		e.store.SetTrash(tc)
		w.WriteHeader(http.StatusNoContent)
	case route == "gc" && r.Method == http.MethodPost:
		purged := e.CollectGarbage()
		if purged == nil {
			purged = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"purged": purged})
	case route == "stats/reset" && r.Method == http.MethodPost:
		e.stats.Reset()
		w.WriteHeader(http.StatusNoContent)
	case route == "downloads" && r.Method == http.MethodPost:
		e.serveDownloadsAdmin(w, r)
	case route == "snapshot" && r.Method == http.MethodGet:
		f := Snapshot(e.store, e.clock)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = f.Write(w)
	default:
		writeErrors(w, http.StatusNotFound, "Unknown emulator endpoint "+r.Method+" "+r.URL.Path)
	}
}

func (e *Emulator) isAdminRequest(r *http.Request) bool {
	tok := ""
	if user, pass, ok := r.BasicAuth(); ok && user == "admin" {
		tok = pass
	} else if scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		tok = strings.TrimSpace(t)
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(e.adminTok)) == 1
}

// parseAdvance parses a Go duration or a whole number of days ("7d").
func parseAdvance(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, err
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func parseFaultQuery(q map[string][]string, cur FaultConfig) (FaultConfig, error) {
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	fc := cur
	if s, ok := get("latency"); ok {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fc, errBadParam("latency", "a non-negative Go duration such as 10ms")
		}
		fc.Latency = d
	}
	if s, ok := get("latency_classes"); ok {
		cs, err := ParseClasses(s)
		if err != nil {
			return fc, err
		}
		fc.LatencyClasses = cs
	}
	if s, ok := get("slow"); ok {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fc, errBadParam("slow", "a non-negative Go duration such as 2s")
		}
		fc.Slow = d
	}
	if s, ok := get("rate"); ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1 {
			return fc, errBadParam("rate", "a number from 0 to 1")
		}
		fc.Rate = f
	}
	if s, ok := get("classes"); ok {
		cs, err := ParseClasses(s)
		if err != nil {
			return fc, err
		}
		fc.Classes = cs
	} else if _, ok := get("rate"); ok {
		fc.Classes = nil // classes default to all when a new rate is set without them
	}
	if s, ok := get("kinds"); ok {
		ks, err := ParseFaults(s)
		if err != nil {
			return fc, err
		}
		fc.Kinds = ks
	}
	return fc, nil
}

// ParseFaults parses a comma list of fault kinds (500, 503, 429, reset, cut, slow); empty means all but slow.
func ParseFaults(s string) ([]Fault, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Fault
	for k := range strings.SplitSeq(s, ",") {
		f := Fault(strings.TrimSpace(k))
		switch f {
		case Fault500, Fault503, Fault429, FaultReset, FaultCut, FaultSlow:
			out = append(out, f)
		default:
			return nil, errBadParam("kinds", "a comma list of 500, 503, 429, reset, cut, slow")
		}
	}
	return out, nil
}

type paramError struct{ name, want string }

func (p paramError) Error() string { return p.name + ": want " + p.want }

func errBadParam(name, want string) error { return paramError{name, want} }

// parseTrashQuery applies enabled, retention_days and api to tc.
func parseTrashQuery(q map[string][]string, tc TrashConfig) (TrashConfig, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if s := get("enabled"); s != "" {
		on, err := strconv.ParseBool(s)
		if err != nil {
			return tc, errors.New("enabled: want true or false")
		}
		tc.Enabled = on
	}
	if s := get("retention_days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return tc, errors.New("retention_days: want a number of days, 0 or more")
		}
		tc.RetentionDays = n
	}
	if s := get("api"); s != "" {
		on, err := strconv.ParseBool(s)
		if err != nil {
			return tc, errors.New("api: want true or false")
		}
		tc.NoAPI = !on
	}
	return tc, nil
}
