package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// dateProxy is a proxy in front of the emulator that writes the Date header of the answers to the ping from its
// own clock, shift away from the real one, as a proxy may.
func dateProxy(t *testing.T, target string, shift time.Duration) *httptest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if strings.HasSuffix(resp.Request.URL.Path, "/api/system/ping") {
			resp.Header.Set("Date", time.Now().Add(shift).UTC().Format(http.TimeFormat))
		}
		return nil
	}
	ts := httptest.NewServer(rp)
	t.Cleanup(ts.Close)
	return ts
}

// TestClockDisagreement: the ping's Date, the AQL answers' Date and the local clock are compared, from the answers
// the run gets anyway. A disagreement above a tenth of the grace period (2.4h of the default 24h) fails the
// repository closed, dry run or not: nothing is deleted, exit 1, and the message names the clocks. One above a
// minute but below that is a warning, and the run deletes as usual.
func TestClockDisagreement(t *testing.T) {
	tests := []struct {
		name      string
		advance   time.Duration // the emulator's clock, ahead of this machine's (ping and AQL alike)
		pingShift time.Duration // a proxy's clock writing the ping's Date only
		fail      bool
		stderr    []string
	}{
		{name: "clocks agree"},
		{name: "server five minutes ahead: a warning", advance: 5 * time.Minute,
			stderr: []string{"level=WARN", "the clocks disagree", "ahead of the local clock"}},
		{name: "server three hours ahead", advance: 3 * time.Hour, fail: true,
			stderr: []string{"the clocks disagree: nothing is deleted", "ahead of the local clock", "2h24m", "NTP"}},
		{name: "a proxy's clock three hours ahead on the ping", pingShift: 3 * time.Hour, fail: true,
			stderr: []string{"the ping's Date", "ahead of an AQL answer's Date"}},
		{name: "a proxy's clock three hours behind on the ping", pingShift: -3 * time.Hour, fail: true,
			stderr: []string{"ahead of the ping's Date"}},
		{name: "a proxy's clock ten minutes behind on the ping: a warning", pingShift: -10 * time.Minute,
			stderr: []string{"level=WARN", "ahead of the ping's Date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc := newSeedServer(t)
			srv.Clock().Advance(tt.advance)
			srv.Store().Age(tt.advance) // the seed story's ages stay as they were on the (skewed) server clock
			e := env(srv)
			if tt.pingShift != 0 {
				e["JF_URL"] = dateProxy(t, srv.URL, tt.pingShift).URL + "/artifactory/"
			}
			before := digestFolders(t, srv, "docker-local")
			for _, mode := range []string{"dry run", "delete"} {
				args := []string{"prune", "--repo", "docker-local"}
				if mode == "delete" {
					args = append(args, "--delete")
				}
				res := runCLI(t, e, args...)
				for _, s := range tt.stderr {
					if !strings.Contains(res.stderr, s) {
						t.Errorf("%s: stderr lacks %q:\n%s", mode, s, res.stderr)
					}
				}
				if !tt.fail {
					if res.code != ExitOK || strings.Contains(res.stderr, "level=ERROR") {
						t.Fatalf("%s: exit %d\n%s", mode, res.code, res.stderr)
					}
					continue
				}
				if res.code != ExitFailure {
					t.Fatalf("%s: exit %d, want %d\n%s", mode, res.code, ExitFailure, res.stderr)
				}
				if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, before) {
					t.Fatalf("%s: deleted with the clocks disagreeing: %d folders left of %d", mode, len(got), len(before))
				}
			}
			if tt.fail {
				return
			}
			var live []string
			for f := range sc.Live {
				live = append(live, f)
			}
			slices.Sort(live)
			if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, live) {
				t.Errorf("after --delete: %v, want the live folders %v", got, live)
			}
		})
	}
}
