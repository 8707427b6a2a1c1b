package doctor

import (
	"strings"
	"testing"
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
