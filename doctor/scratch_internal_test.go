package doctor

import (
	"errors"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory"
)

// TestUploadLocation: only an upload of the probe image in the scratch repository is followed, in either of
// Artifactory's forms, and never one with a "." or ".." segment.
func TestUploadLocation(t *testing.T) {
	p := pusher{repo: "docker-scratch", image: "artprune-doctor-probe-0a"}
	tests := []struct {
		loc, want, err string
	}{
		{"/v2/docker-scratch/artprune-doctor-probe-0a/blobs/uploads/u1?_state=x", "api/docker/docker-scratch/v2/artprune-doctor-probe-0a/blobs/uploads/u1?_state=x", ""},
		{"https://host/artifactory/api/docker/docker-scratch/v2/artprune-doctor-probe-0a/blobs/uploads/u1", "api/docker/docker-scratch/v2/artprune-doctor-probe-0a/blobs/uploads/u1", ""},
		{"/artifactory/api/docker/docker-local/v2/app/blobs/uploads/u1", "", "neither"},
		{"/artifactory/api/docker/docker-scratch/v2/app/blobs/uploads/u1", "", "not an upload of docker-scratch/artprune-doctor-probe-0a"},
		{"/v2/docker-scratch/artprune-doctor-probe-0a/manifests/latest", "", "not an upload"},
		{"/v2/docker-scratch/artprune-doctor-probe-0a/blobs/uploads/", "", "not an upload"},
		{"/v2/docker-scratch/artprune-doctor-probe-0a/blobs/uploads/../../../../app/latest", "", `".." segment`},
		{"/v2/docker-scratch/artprune-doctor-probe-0a/blobs/uploads/%2e%2e/x", "", `".." segment`},
		{"/v2/docker-scratch/artprune-doctor-probe-0a/blobs/uploads/%252e%252e/x", "", "segment"},
		{"/v2/docker-scratch/artprune-doctor-probe-0a/blobs/uploads/./u1", "", `"." segment`},
		{"/x/api/docker/docker-scratch/v2/artprune-doctor-probe-0a/blobs/uploads/u1?a=../b", "api/docker/docker-scratch/v2/artprune-doctor-probe-0a/blobs/uploads/u1?a=../b", ""}, // a query is no path
		{"/api/docker/other/api/docker/docker-scratch/v2/artprune-doctor-probe-0a/blobs/uploads/u1", "api/docker/docker-scratch/v2/artprune-doctor-probe-0a/blobs/uploads/u1", ""},
	}
	for _, tt := range tests {
		got, err := p.rel(tt.loc)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("rel(%q) = %q, %v; want %q", tt.loc, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("rel(%q) = %q, %v; want an error saying %q", tt.loc, got, err, tt.err)
		}
	}
}

// TestVerifyOrder: the aql-sort check asks the server's own $gt, so a collation that orders strings unlike byte
// order passes when the server agrees with itself, and fails only when $gt after a row does not start with the
// row its sort put next.
func TestVerifyOrder(t *testing.T) {
	row := func(p, n string) artifactory.Row { return artifactory.Row{Path: p, Name: n} }
	byteOrder := []artifactory.Row{row("a", "Beta"), row("a", "alpha"), row("b", "x")}
	caseless := []artifactory.Row{row("a", "alpha"), row("a", "Beta"), row("b", "x")} // a locale collation
	// successor answers as a server whose $gt follows the given order.
	successor := func(order []artifactory.Row) func(artifactory.Row) (artifactory.Row, bool, error) {
		return func(a artifactory.Row) (artifactory.Row, bool, error) {
			for i, r := range order {
				if r == a && i+1 < len(order) {
					return order[i+1], true, nil
				}
			}
			return artifactory.Row{}, false, nil
		}
	}
	tests := []struct {
		name   string
		rows   []artifactory.Row
		next   func(artifactory.Row) (artifactory.Row, bool, error)
		want   Status
		saying string
	}{
		{"byte order, $gt agrees", byteOrder, successor(byteOrder), StatusOK, "AQL sorts (3 rows in path, name order; its $gt agrees, 1 keyset queries)"},
		{"caseless collation, $gt agrees", caseless, successor(caseless), StatusOK, "puts a/alpha before a/Beta, unlike byte order, and its $gt agrees, 1 keyset queries"},
		{"caseless sort, byte $gt", caseless, successor(byteOrder), StatusFail, "AQL sorted a/Beta right after a/alpha, but its $gt on (path, name) after a/alpha starts with b/x"},
		{"$gt finds nothing", byteOrder, func(artifactory.Row) (artifactory.Row, bool, error) { return artifactory.Row{}, false, nil }, StatusFail, "starts with nothing"},
		{"$gt fails", byteOrder, func(artifactory.Row) (artifactory.Row, bool, error) {
			return artifactory.Row{}, false, errors.New("boom")
		}, StatusFail, "failed: boom"},
		{"one row", byteOrder[:1], successor(byteOrder), StatusOK, "AQL sorts (1 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := verifyOrder(tt.rows, tt.next)
			if res.Status != tt.want || !strings.Contains(res.Found, tt.saying) {
				t.Errorf("%s %q; want %s saying %q", res.Status, res.Found, tt.want, tt.saying)
			}
		})
	}
}
