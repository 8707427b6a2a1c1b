package artifactory_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// stubTransport answers requests whose path ends with a key of answers itself, while the answer is set; every
// other request goes to the server.
type stubTransport struct {
	mu      sync.Mutex
	answers map[string]stubAnswer
}

type stubAnswer struct {
	status int
	body   string
}

func (s *stubTransport) set(suffix string, a *stubAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answers == nil {
		s.answers = map[string]stubAnswer{}
	}
	if a == nil {
		delete(s.answers, suffix)
		return
	}
	s.answers[suffix] = *a
}

func (s *stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	var a *stubAnswer
	for suffix, ans := range s.answers {
		if strings.HasSuffix(r.URL.Path, suffix) {
			a = &ans
		}
	}
	s.mu.Unlock()
	if a == nil {
		return http.DefaultTransport.RoundTrip(r)
	}
	return &http.Response{StatusCode: a.status, Status: http.StatusText(a.status), Body: io.NopCloser(strings.NewReader(a.body)),
		Header: http.Header{"Content-Type": {"application/json"}}, Request: r}, nil
}

// TestLicensesFailureIsNotCached: only 401 and 403 from api/system/licenses mean "not an admin". On a server
// whose AQL refuses sort, any other failure fails Server with the real error, and the next call detects again;
// where AQL sorts, the answer decides nothing and a failure is only noted.
func TestLicensesFailureIsNotCached(t *testing.T) {
	envelope := func(status int, msg string) *stubAnswer {
		return &stubAnswer{status, fmt.Sprintf(`{"errors":[{"status":%d,"message":%q}]}`, status, msg)}
	}
	tests := []struct {
		name      string
		edition   artifactorytest.Edition
		answer    *stubAnswer
		wantErr   string // "" for no error
		wantAdmin bool
		wantHow   string
	}{
		{"jcr 403", artifactorytest.EditionJCR, envelope(403, "You are not authorized to view the license"), "", false, `refused (403 Forbidden, "You are not authorized to view the license"): not an admin`},
		{"jcr 401", artifactorytest.EditionJCR, envelope(401, "Bad credentials"), "", false, `refused (401 Unauthorized, "Bad credentials"): not an admin`},
		{"jcr 503", artifactorytest.EditionJCR, envelope(503, "Service Unavailable"), "HTTP 503", false, ""},
		{"jcr 500", artifactorytest.EditionJCR, envelope(500, "boom"), "HTTP 500", false, ""},
		{"jcr 404", artifactorytest.EditionJCR, envelope(404, "Not Found"), "HTTP 404", false, ""},
		{"pro 503", artifactorytest.EditionPro, envelope(503, "Service Unavailable"), "", false, "api/system/licenses failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, artifactorytest.WithEdition(tt.edition))
			stub := &stubTransport{}
			stub.set("/api/system/licenses", tt.answer)
			c := newClient(t, srv, artifactory.WithTransport(stub))
			info, err := c.Server(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "api/system/licenses") {
					t.Fatalf("Server: %+v, %v; want an error naming api/system/licenses and %s", info, err, tt.wantErr)
				}
				if _, ok := c.KnownServer(); ok {
					t.Fatal("a failed detection was cached")
				}
				stub.set("/api/system/licenses", nil) // the server recovers: the next call detects again
				info, err = c.Server(context.Background())
				if err != nil || !info.Admin || info.Edition != artifactory.EditionJCR {
					t.Fatalf("Server after recovery: %+v, %v; want an admin on jcr", info, err)
				}
				return
			}
			if err != nil || info.Admin != tt.wantAdmin || !strings.Contains(info.How, tt.wantHow) {
				t.Fatalf("Server: %+v, %v; want admin %v, detected_by holding %q", info, err, tt.wantAdmin, tt.wantHow)
			}
			if !info.Sorts {
				_, err := listWith(t, c)
				if !errors.Is(err, artifactory.ErrNeedsAdmin) || !strings.Contains(err.Error(), tt.wantHow) {
					t.Errorf("listing: %v; want ErrNeedsAdmin quoting %q", err, tt.wantHow)
				}
			}
		})
	}
}

// TestSortNotInferredFromVersion: a Pro server behind a proxy that strips the version's addons (or hides them
// from this user) still sorts; artprune asks AQL, so a reader who is not an admin lists on the sort, completely,
// instead of being refused as on OSS.
func TestSortNotInferredFromVersion(t *testing.T) {
	for _, tok := range []string{"reader-token", token} {
		t.Run(tok, func(t *testing.T) {
			srv := editionServer(t, artifactorytest.EditionPro)
			stub := &stubTransport{}
			stub.set("/api/system/version", &stubAnswer{200, `{"version":"7.104.15","revision":"1","addons":[]}`})
			c, err := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken(tok), artifactory.WithBackoff(fastBackoff), artifactory.WithTransport(stub),
				artifactory.WithPageSize(50))
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.Server(context.Background())
			if err != nil || !info.Sorts || info.Edition != artifactory.EditionPro || !strings.Contains(info.How, "a sorted AQL query was answered") {
				t.Fatalf("Server: %+v, %v; want pro, sorting, decided by a sorted query", info, err)
			}
			got, err := listWith(t, c)
			if err != nil || !slices.Equal(got, truth(t, srv)) {
				t.Errorf("listing: %d files, %v; want the %d of the store", len(got), err, len(truth(t, srv)))
			}
		})
	}
}

// TestAdminNeedsALicenseType: only an api/system/licenses answer that names a license type, in the shape of a
// single server or of an HA cluster, makes the caller an admin; any other 200 proves nothing, and on jcr the
// listing is then refused with what the endpoint answered.
func TestAdminNeedsALicenseType(t *testing.T) {
	tests := []struct {
		name, body  string
		wantAdmin   bool
		wantLicense string
		wantEdition string
	}{
		{"single", `{"type":"JCR Edition","validThrough":"","licensedTo":""}`, true, "JCR Edition", artifactory.EditionJCR},
		{"ha object", `{"licenses":[{"type":"JCR Edition","nodeId":"art1","licenseHash":"a","expired":false},{"type":"JCR Edition","nodeId":"Not in use"}]}`, true, "JCR Edition", artifactory.EditionJCR},
		{"ha list", `[{"type":"OSS","nodeId":"art1"},{"type":"OSS","nodeId":"Not in use"}]`, true, "OSS", artifactory.EditionOSS},
		{"empty object", `{}`, false, "", artifactory.EditionOSSOrJCR},
		{"empty type", `{"type":"  "}`, false, "", artifactory.EditionOSSOrJCR},
		{"empty list", `[]`, false, "", artifactory.EditionOSSOrJCR},
		{"ha without types", `{"licenses":[{"nodeId":"art1"}]}`, false, "", artifactory.EditionOSSOrJCR},
		{"not json", `<html>login</html>`, false, "", artifactory.EditionOSSOrJCR},
		{"json string", `"JCR Edition"`, false, "", artifactory.EditionOSSOrJCR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := editionServer(t, artifactorytest.EditionJCR)
			stub := &stubTransport{}
			stub.set("/api/system/licenses", &stubAnswer{200, tt.body})
			c := newClient(t, srv, artifactory.WithTransport(stub))
			info, err := c.Server(context.Background())
			if err != nil || info.Admin != tt.wantAdmin || info.License != tt.wantLicense || info.Edition != tt.wantEdition {
				t.Fatalf("Server: %+v, %v; want admin %v, license %q, edition %s", info, err, tt.wantAdmin, tt.wantLicense, tt.wantEdition)
			}
			_, err = listWith(t, c)
			switch {
			case tt.wantAdmin && err != nil:
				t.Errorf("listing as an admin: %v", err)
			case !tt.wantAdmin && (!errors.Is(err, artifactory.ErrNeedsAdmin) || !strings.Contains(err.Error(), "answered 200 without a license type")):
				t.Errorf("listing: %v; want ErrNeedsAdmin saying the answer had no license type", err)
			}
		})
	}
}

// TestHALicensesFromTheEmulator: the emulator's HA shapes of api/system/licenses are read as an admin's.
func TestHALicensesFromTheEmulator(t *testing.T) {
	for _, sh := range []artifactorytest.LicensesShape{artifactorytest.LicensesSingle, artifactorytest.LicensesHA, artifactorytest.LicensesHAList} {
		t.Run(string(sh), func(t *testing.T) {
			srv := newServer(t, artifactorytest.WithEdition(artifactorytest.EditionJCR), artifactorytest.WithLicensesShape(sh))
			info, err := newClient(t, srv).Server(context.Background())
			if err != nil || !info.Admin || info.License != "JCR Edition" || info.Edition != artifactory.EditionJCR {
				t.Errorf("Server: %+v, %v; want an admin on jcr, license JCR Edition", info, err)
			}
		})
	}
}
