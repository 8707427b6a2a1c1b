package artifactorytest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// downloadCounts returns path -> download count of the files of docker-local/app with statistics.
func downloadCounts(t *testing.T, s *Server) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	_ = s.Store().Walk("docker-local", "app", func(it *Item) bool {
		if st := s.Store().DownloadStats("docker-local", it.FullPath()); st != nil {
			out[it.FullPath()] = st.Downloads
		}
		return true
	})
	return out
}

func equalCounts(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: download counts %v, want %v", what, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: download counts %v, want %v", what, got, want)
		}
	}
}

func TestDownloadStatistics(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/app"
	img := makeImage(t, 1, nil, "")
	img.pushBlobs(t, s, name)
	expectStatus(t, "push v1", putManifest(t, s, name, "v1", v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")
	expectStatus(t, "push by digest", putManifest(t, s, name, img.digest(), v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")
	other := makeImage(t, 1, nil, "")
	other.pushBlobs(t, s, name)
	expectStatus(t, "push other by digest", putManifest(t, s, name, other.digest(), v1.MediaTypeImageManifest, other.manifest), http.StatusCreated, "")
	tagFile, digestFile, otherFile := "app/v1/manifest.json", "app/sha256:"+img.hex()+"/manifest.json", "app/sha256:"+other.hex()+"/manifest.json"
	equalCounts(t, "after the pushes", downloadCounts(t, s), map[string]int64{})
	pushed, _ := s.Store().Get("docker-local", digestFile)

	// HEAD never counts (StatsServiceImpl skips head-only requests).
	expectStatus(t, "HEAD by digest", admin(t, s, http.MethodHead, "/v2/"+name+"/manifests/"+img.digest(), nil, nil), http.StatusOK, "")
	expectStatus(t, "HEAD by REST", admin(t, s, http.MethodHead, "/artifactory/docker-local/"+otherFile, nil, nil), http.StatusOK, "")
	equalCounts(t, "after HEADs", downloadCounts(t, s), map[string]int64{})

	// A pull by tag counts against the tag's file; a pull by digest against every file with that digest.
	expectStatus(t, "GET by tag", admin(t, s, http.MethodGet, "/v2/"+name+"/manifests/v1", nil, nil), http.StatusOK, "")
	equalCounts(t, "after a pull by tag", downloadCounts(t, s), map[string]int64{tagFile: 1})
	s.Clock().Advance(time.Hour)
	expectStatus(t, "GET by digest", admin(t, s, http.MethodGet, "/v2/"+name+"/manifests/"+img.digest(), nil, nil), http.StatusOK, "")
	equalCounts(t, "after a pull by digest", downloadCounts(t, s), map[string]int64{tagFile: 2, digestFile: 1})
	// A REST download counts, with its user.
	before := s.Clock().Now()
	r := do(t, s, dreq{method: http.MethodGet, path: "/artifactory/docker-local/" + otherFile, user: "reader", pass: "rt"})
	after := s.Clock().Now()
	expectStatus(t, "REST GET", r, http.StatusOK, "")
	equalCounts(t, "after a REST download", downloadCounts(t, s), map[string]int64{tagFile: 2, digestFile: 1, otherFile: 1})
	if st := s.Store().DownloadStats("docker-local", otherFile); st.DownloadedBy != "reader" || st.Downloaded.Before(before) || st.Downloaded.After(after) {
		t.Fatalf("statistics of %s: %+v, want by reader between %v and %v", otherFile, st, before, after)
	}
	// Downloads change no timestamp the re-check compares.
	if it, _ := s.Store().Get("docker-local", digestFile); !it.Created.Equal(pushed.Created) || !it.Modified.Equal(pushed.Modified) || !it.Updated.Equal(pushed.Updated) {
		t.Fatalf("a download changed %s's times: %+v, pushed %+v", digestFile, it, pushed)
	}

	// GET api/storage/...?stats.
	r = admin(t, s, http.MethodGet, "/artifactory/api/storage/docker-local/"+digestFile+"?stats", nil, nil)
	expectStatus(t, "?stats", r, http.StatusOK, "")
	var info map[string]any
	if err := json.Unmarshal(r.body, &info); err != nil {
		t.Fatal(err)
	}
	if want := s.Store().DownloadStats("docker-local", digestFile); info["downloadCount"] != 1.0 || info["lastDownloaded"] != float64(want.Downloaded.UnixMilli()) || info["lastDownloadedBy"] != "admin" ||
		info["remoteDownloadCount"] != 0.0 || info["uri"] != s.URL+"/artifactory/docker-local/"+digestFile {
		t.Fatalf("?stats: %s", r.body)
	}
	r = admin(t, s, http.MethodGet, "/artifactory/api/storage/docker-local/app/v1?stats", nil, nil)
	if expectStatus(t, "?stats of a folder", r, http.StatusOK, ""); !strings.Contains(string(r.body), `"downloadCount": 0`) {
		t.Fatalf("?stats of a folder: %s", r.body)
	}
	expectStatus(t, "?stats of nothing", admin(t, s, http.MethodGet, "/artifactory/api/storage/docker-local/app/nope?stats", nil, nil), http.StatusNotFound, "")

	// A download through another Artifactory, recorded by the admin endpoint.
	r = admin(t, s, http.MethodPost, "/_emulator/downloads?repo=docker-local&path="+otherFile+"&origin=edge-eu&by=kubelet&count=2", nil, nil)
	expectStatus(t, "remote download", r, http.StatusOK, "")
	if !strings.Contains(string(r.body), `"remoteDownloadCount": 2`) || !strings.Contains(string(r.body), `"remoteLastDownloadedBy": "kubelet"`) {
		t.Fatalf("remote download answer: %s", r.body)
	}
	expectStatus(t, "remote download of nothing", admin(t, s, http.MethodPost, "/_emulator/downloads?repo=docker-local&path=app/nope", nil, nil), http.StatusNotFound, "")

	// AQL criteria and fields.
	aqlPaths := func(query string) []string {
		t.Helper()
		r := admin(t, s, http.MethodPost, "/artifactory/api/search/aql", []byte(query), nil)
		expectStatus(t, query, r, http.StatusOK, "")
		var ans struct {
			Results []struct {
				Path, Name string
				Stats      []map[string]any `json:"stats"`
			} `json:"results"`
		}
		if err := json.Unmarshal(r.body, &ans); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, row := range ans.Results {
			out = append(out, row.Path+"/"+row.Name)
		}
		return out
	}
	since := s.Clock().Now().Add(-30 * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")
	got := aqlPaths(`items.find({"repo":"docker-local","stat.downloaded":{"$gte":"` + since + `"}}).include("repo","path","name").sort({"$asc":["path","name"]}).limit(10)`)
	if want := slices.Sorted(slices.Values([]string{digestFile, otherFile, tagFile})); !slices.Equal(got, want) {
		t.Fatalf("downloaded in the last 30 minutes: %q, want %q", got, want)
	}
	got = aqlPaths(`items.find({"repo":"docker-local","stat.remote_downloaded":{"$last":"1d"}}).include("repo","path","name")`)
	if want := []string{otherFile}; !slices.Equal(got, want) {
		t.Fatalf("downloaded remotely: %q, want %q", got, want)
	}
	r = admin(t, s, http.MethodPost, "/artifactory/api/search/aql", []byte(`items.find({"repo":"docker-local","path":"app/sha256:`+other.hex()+`"}).include("name","stat.downloads","stat.remote_origin")`), nil)
	if want := `{"name":"manifest.json","stats":[{"downloads":1,"remote_origin":"edge-eu"}]}`; !strings.Contains(string(r.body), want) {
		t.Fatalf("stat include: %s, want it to hold %s", r.body, want)
	}
	expectStatus(t, "stat include with a limit", admin(t, s, http.MethodPost, "/artifactory/api/search/aql",
		[]byte(`items.find({"repo":"docker-local"}).include("repo","path","name","stat.downloaded").limit(10)`), nil), http.StatusBadRequest, "")

	// Statistics belong to the file: deleting it drops them.
	expectStatus(t, "delete", admin(t, s, http.MethodDelete, "/artifactory/docker-local/app/sha256:"+other.hex(), nil, nil), http.StatusNoContent, "")
	equalCounts(t, "after the delete", downloadCounts(t, s), map[string]int64{tagFile: 2, digestFile: 1})
}

// TestAgeAgesDownloads: Store.Age makes downloads older with the items.
func TestAgeAgesDownloads(t *testing.T) {
	s := newDockerServer(t)
	img := makeImage(t, 1, nil, "")
	img.pushBlobs(t, s, "docker-local/app")
	expectStatus(t, "push", putManifest(t, s, "docker-local/app", img.digest(), v1.MediaTypeImageManifest, img.manifest), http.StatusCreated, "")
	file := "app/sha256:" + img.hex() + "/manifest.json"
	at := s.Clock().Now().Add(-time.Hour)
	if err := s.Store().RecordDownload("docker-local", file, "u", at); err != nil {
		t.Fatal(err)
	}
	if err := s.Store().RecordRemoteDownload("docker-local", file, "edge", "p", "u", 1, at); err != nil {
		t.Fatal(err)
	}
	s.Store().Age(48 * time.Hour)
	st := s.Store().DownloadStats("docker-local", file)
	if want := at.Add(-48 * time.Hour); !st.Downloaded.Equal(want) || !st.Remote[0].Downloaded.Equal(want) {
		t.Fatalf("after Age: %+v, want downloads at %v", st, want)
	}
}
