package artifactorytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// editionCall sends one request to e as the admin (or tok) and returns the status, body and Content-Type.
func editionCall(t *testing.T, e *Emulator, method, path, tok, body string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Header().Get("Content-Type")
}

func TestEditionsAQLRestrictions(t *testing.T) {
	const (
		sorted    = `items.find({"repo":"r"}).include("repo","path","name").sort({"$asc":["path","name"]}).limit(10)`
		unsorted  = `items.find({"repo":"r"}).include("repo","path","name").limit(10)`
		propFind  = `items.find({"repo":"r","@artprune.keep":"true"}).include("repo","path","name")`
		propInclu = `items.find({"repo":"r"}).include("repo","path","name","@artprune.keep")`
	)
	type want struct {
		status int
		body   string // the whole body for refusals, a substring for successes
	}
	ok := want{200, `"results"`}
	tests := []struct {
		edition                     Edition
		sorted, unsorted, find, inc want
	}{
		{EditionPro, ok, ok, ok, ok},
		{EditionSaaS, ok, ok, ok, ok},
		{EditionJCR, want{400, msgSortOSS}, ok, ok, want{400, msgPropFilterOSS}},
		{EditionOSS, want{400, msgSortOSS}, ok, ok, want{400, msgPropFilterOSS}},
	}
	for _, tt := range tests {
		t.Run(string(tt.edition), func(t *testing.T) {
			e, err := New(WithEdition(tt.edition), WithRepo(Repo{Key: "r", Type: RepoLocal, PackageType: PackageDocker}))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				query string
				want  want
			}{{sorted, tt.sorted}, {unsorted, tt.unsorted}, {propFind, tt.find}, {propInclu, tt.inc}} {
				status, body, ctype := editionCall(t, e, "POST", "/artifactory/api/search/aql", DefaultAdminToken, c.query)
				if status != c.want.status {
					t.Errorf("%s: status %d, want %d (%s)", c.query, status, c.want.status, body)
					continue
				}
				if status == 200 && !strings.Contains(body, c.want.body) {
					t.Errorf("%s: body %q lacks %q", c.query, body, c.want.body)
				}
				if status != 200 && (body != c.want.body || ctype != "text/plain") {
					t.Errorf("%s: got %q (%s), want exactly %q as text/plain", c.query, body, ctype, c.want.body)
				}
			}
		})
	}
}

func TestEditionsVersionAndLicense(t *testing.T) {
	tests := []struct {
		edition     Edition
		noAddons    bool
		licenseType string
	}{
		{EditionPro, false, "Commercial"},
		{EditionSaaS, false, "Enterprise Plus"},
		{EditionJCR, true, "JCR Edition"},
		{EditionOSS, true, "OSS"},
	}
	for _, tt := range tests {
		t.Run(string(tt.edition), func(t *testing.T) {
			e, err := New(WithEdition(tt.edition), WithUser(User{Name: "reader", Token: "rt", Perms: []Permission{PermRead}}))
			if err != nil {
				t.Fatal(err)
			}
			status, body, _ := editionCall(t, e, "GET", "/artifactory/api/system/version", DefaultAdminToken, "")
			var v struct {
				Version string   `json:"version"`
				Addons  []string `json:"addons"`
			}
			if err := json.Unmarshal([]byte(body), &v); status != 200 || err != nil {
				t.Fatalf("version: %d %v %s", status, err, body)
			}
			if v.Version != Version || v.Addons == nil || (len(v.Addons) == 0) != tt.noAddons {
				t.Errorf("version %+v: want version %s, addons empty %v", v, Version, tt.noAddons)
			}
			status, body, _ = editionCall(t, e, "GET", "/artifactory/api/system/licenses", DefaultAdminToken, "")
			var l struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal([]byte(body), &l); status != 200 || err != nil || l.Type != tt.licenseType {
				t.Errorf("licenses: %d %q, want type %q", status, body, tt.licenseType)
			}
			if status, _, _ := editionCall(t, e, "GET", "/artifactory/api/system/licenses", "rt", ""); status != http.StatusForbidden {
				t.Errorf("licenses as a reader: %d, want 403", status)
			}
		})
	}
}

func TestSaaSAQLConcurrencyLimiter(t *testing.T) {
	e, err := New(WithEdition(EditionSaaS), WithAQLConcurrency(SaaSAQLConcurrency, 0))
	if err != nil {
		t.Fatal(err)
	}
	const q = `items.find({"repo":"r"}).include("repo","path","name")`
	if status, body, _ := editionCall(t, e, "POST", "/artifactory/api/search/aql", DefaultAdminToken, q); status != 200 {
		t.Fatalf("free limiter: %d %s", status, body)
	}
	for range SaaSAQLConcurrency { // hold every slot, as queries in flight would
		e.aqlLimit.slots <- struct{}{}
	}
	if status, body, _ := editionCall(t, e, "POST", "/artifactory/api/search/aql", DefaultAdminToken, q); status != http.StatusTooManyRequests {
		t.Errorf("full limiter: %d %s, want 429", status, body)
	}
	if n := e.AQLRejected(); n != 1 {
		t.Errorf("%d rejections counted, want 1", n)
	}
	<-e.aqlLimit.slots
	if status, body, _ := editionCall(t, e, "POST", "/artifactory/api/search/aql", DefaultAdminToken, q); status != 200 {
		t.Errorf("one slot free: %d %s, want 200", status, body)
	}
	pro, _ := New()
	if pro.aqlLimit != nil {
		t.Error("pro has an AQL concurrency limiter; only saas should by default")
	}
	saas, _ := New(WithEdition(EditionSaaS))
	if saas.aqlLimit == nil || cap(saas.aqlLimit.slots) != SaaSAQLConcurrency || saas.aqlLimit.wait != SaaSAQLPendingTimeout {
		t.Errorf("saas limiter %+v: want %d slots, %v", saas.aqlLimit, SaaSAQLConcurrency, SaaSAQLPendingTimeout)
	}
}

// TestEditionsProOnlyEndpoints: setting and deleting properties through the REST API answers 400 on jcr and oss,
// reading them works everywhere.
func TestEditionsProOnlyEndpoints(t *testing.T) {
	for _, ed := range Editions {
		t.Run(string(ed), func(t *testing.T) {
			e, err := New(WithEdition(ed), WithRepo(Repo{Key: "r", Type: RepoLocal, PackageType: PackageGeneric}))
			if err != nil {
				t.Fatal(err)
			}
			if status, body, _ := editionCall(t, e, "PUT", "/artifactory/r/a.txt;team=x", DefaultAdminToken, "hello"); status != http.StatusCreated {
				t.Fatalf("deploy with a matrix property: %d %s", status, body)
			}
			if status, body, _ := editionCall(t, e, "GET", "/artifactory/api/storage/r/a.txt?properties", DefaultAdminToken, ""); status != 200 || !strings.Contains(body, "team") {
				t.Errorf("GET properties: %d %s", status, body)
			}
			want := http.StatusNoContent
			if ed.isOSS() {
				want = http.StatusBadRequest
			}
			for _, m := range []string{"PUT", "DELETE"} {
				q := "/artifactory/api/storage/r/a.txt?properties=team=y"
				if m == "DELETE" {
					q = "/artifactory/api/storage/r/a.txt?properties=team"
				}
				status, body, _ := editionCall(t, e, m, q, DefaultAdminToken, "")
				if status != want || (ed.isOSS() && !strings.Contains(body, "available only in Artifactory Pro")) {
					t.Errorf("%s properties: %d %s, want %d", m, status, body, want)
				}
			}
		})
	}
}
