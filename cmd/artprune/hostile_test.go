package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// TestHostileRepository fills docker-local, beside the seed story, with paths and documents no Docker client makes
// (odd names, "sha256:" in odd places, a huge index, an index that is not JSON, an index with duplicate keys, a
// document of unknown media type) and runs prune --delete through the emulator's AQL and downloads. Nothing may
// crash, nothing of theirs may be deleted, each must be reported by path, and the seed story's own dangling folders
// are still pruned.
func TestHostileRepository(t *testing.T) {
	srv, sc := newSeedServer(t)
	old := srv.Clock().Now().Add(-90 * 24 * time.Hour)
	put := func(path, body string) string {
		t.Helper()
		if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "docker-local", Path: path, Data: []byte(body),
			Created: old, Modified: old, Updated: old}); err != nil {
			t.Fatalf("put %s: %v", path, err)
		}
		return path
	}
	manifest := func(seed string) (string, string) {
		body := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064x","size":1},"layers":[],"annotations":{"seed":%q}}`, 1, seed)
		sum := sha256.Sum256([]byte(body))
		return "sha256:" + hex.EncodeToString(sum[:]), body
	}
	var hostile []string // folders that must survive
	named := map[string]string{}
	for _, image := range []string{"my app", "äpp", "app%2e%2e", "App", "app\u202e", "..app"} {
		d, body := manifest(image)
		put(image+"/"+d+"/manifest.json", body)
		hostile = append(hostile, image+"/"+d)
		named[image] = image
	}
	d1, b1 := manifest("nested-outer")
	d2, b2 := manifest("nested-inner")
	put("nest/"+d1+"/manifest.json", b1)
	put("nest/"+d1+"/"+d2+"/manifest.json", b2)
	hostile = append(hostile, "nest/"+d1, "nest/"+d1+"/"+d2)
	named["nest"] = "nest/" + d1

	for name, index := range map[string]string{
		"huge":    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"CHILD"}],"annotations":{"pad":"` + strings.Repeat("x", 5<<20) + `"}}`,
		"notjson": `<html><body>502 Bad Gateway</body></html>`,
		"dupkey":  `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"CHILD"}],"manifests":[]}`,
		"unknown": `{"schemaVersion":2,"mediaType":"application/vnd.example.unknown+json","manifests":[{"digest":"CHILD"}]}`,
	} {
		d, body := manifest(name + "-child")
		put(name+"/"+d+"/manifest.json", body)
		put(name+"/latest/list.manifest.json", strings.Replace(index, "CHILD", d, 1))
		hostile = append(hostile, name+"/"+d)
		named[name] = name + "/latest/list.manifest.json"
	}

	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete")
	if res.code != ExitFailure {
		t.Errorf("exit %d, want %d\n%s\n%s", res.code, ExitFailure, res.stdout, res.stderr)
	}
	if strings.Contains(res.stderr, "panic") {
		t.Fatalf("panic:\n%s", res.stderr)
	}
	if strings.ContainsRune(res.stdout+res.stderr, '\u202e') || !strings.Contains(res.stdout, `app\u202e`) {
		t.Errorf("a bidirectional override reached the terminal unescaped:\n%s", res.stdout)
	}
	for _, f := range hostile {
		if _, ok := srv.Store().Get("docker-local", f); !ok {
			t.Errorf("%s was deleted", f)
		}
	}
	for image, path := range named {
		if !strings.Contains(res.stdout, path) && !strings.Contains(res.stdout, fmt.Sprintf("%q", path)) {
			t.Errorf("the report does not name %s (image %q):\n%s", path, image, res.stdout)
		}
	}
	for _, f := range sc.Dangling {
		if _, ok := srv.Store().Get("docker-local", f); ok {
			t.Errorf("the seed story's dangling %s survived: hostile images must not stop the others", f)
		}
	}
	for f := range sc.Live {
		if _, ok := srv.Store().Get("docker-local", f); !ok {
			t.Errorf("live %s was deleted", f)
		}
	}
}
