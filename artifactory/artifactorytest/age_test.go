package artifactorytest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAgeMakesItemsOlderWithoutMovingTheClock: ?age= (Store.Age) moves every item's timestamps back, leaves the
// clock and the Date header where they are, keeps the items findable (by path, by AQL), and refuses a negative age.
func TestAgeMakesItemsOlderWithoutMovingTheClock(t *testing.T) {
	srv := newREST(t)
	call(t, srv, "PUT", "/artifactory/files/a/stamp.txt", restToken, []byte("x"))
	before, _ := srv.Store().Get("files", "a/stamp.txt")
	clockBefore := srv.Clock().Now()
	if status, body, _ := call(t, srv, "POST", "/_emulator/clock?age=2d", "reader-token", nil); status != 401 {
		t.Errorf("a non-admin aged the items: %d %s", status, body)
	}
	if status, body, _ := call(t, srv, "POST", "/_emulator/clock?age=2d", restToken, nil); status != 200 {
		t.Fatalf("age: %d %s", status, body)
	}
	for _, full := range []string{"a", "a/stamp.txt"} {
		it, ok := srv.Store().Get("files", full)
		if !ok {
			t.Fatalf("%s is gone after aging", full)
		}
		if full == "a/stamp.txt" && (before.Created.Sub(it.Created) != 48*time.Hour || before.Modified.Sub(it.Modified) != 48*time.Hour ||
			before.Updated.Sub(it.Updated) != 48*time.Hour) {
			t.Errorf("%s: created %v modified %v updated %v, want each 48h before %v", full, it.Created, it.Modified, it.Updated, before.Created)
		}
	}
	if d := srv.Clock().Now().Sub(clockBefore); d < 0 || d > 10*time.Second {
		t.Errorf("the clock moved by %v", d)
	}
	_, _, h := call(t, srv, "GET", "/artifactory/api/system/ping", "", nil)
	if date, err := http.ParseTime(h.Get("Date")); err != nil || date.Sub(clockBefore) > 10*time.Second {
		t.Errorf("Date %q moved with the items", h.Get("Date"))
	}
	status, body, _ := call(t, srv, "POST", "/artifactory/api/search/aql", restToken,
		[]byte(`items.find({"repo":"files","name":"stamp.txt","created":{"$before":"1d"}})`))
	if status != 200 || !strings.Contains(body, `"name":"stamp.txt"`) {
		t.Errorf("AQL after aging: %d %s", status, body)
	}
	if status, _, _ := call(t, srv, "POST", "/_emulator/clock?age=-1h", restToken, nil); status != 400 {
		t.Errorf("a negative age was accepted")
	}
}
