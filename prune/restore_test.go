package prune

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeTrash is a Restorer over two sets of paths: the repository's and the Trash Can's.
type fakeTrash struct {
	mu       sync.Mutex
	live     map[string]bool
	trash    map[string]bool
	failOnce map[string]error // Restore fails once with this error, after acting when actedAnyway is set
	acted    bool
	restored []string
}

func (f *fakeTrash) Exists(_ context.Context, repo, path string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live[repo+"/"+path], nil
}

func (f *fakeTrash) InTrash(_ context.Context, repo, path string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trash[repo+"/"+path], nil
}

func (f *fakeTrash) Restore(_ context.Context, repo, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := repo + "/" + path
	if f.live[k] {
		panic("Restore called for a path that exists: " + k)
	}
	if err := f.failOnce[k]; err != nil {
		delete(f.failOnce, k)
		if !f.acted {
			return err
		}
		f.live[k], f.trash[k] = true, false
		f.restored = append(f.restored, k)
		return err
	}
	if !f.trash[k] {
		return errors.New("nothing to restore")
	}
	f.live[k], f.trash[k] = true, false
	f.restored = append(f.restored, k)
	return nil
}

func TestRestoreFolders(t *testing.T) {
	hex := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	a, b, c, d, e := "img/"+hex("a"), "img/"+hex("b"), "img/"+hex("c"), "img/"+hex("d"), "img/"+hex("e")
	items := []RestoreItem{{Repo: "r", Path: a}, {Repo: "r", Path: b}, {Repo: "r", Path: c}, {Repo: "r", Path: d},
		{Repo: "r", Path: e}, {Repo: "r", Path: "img/latest"}, {Repo: "r", Path: "../" + hex("f")}}
	newFake := func(acted bool) *fakeTrash {
		return &fakeTrash{
			live:     map[string]bool{"r/" + b: true},
			trash:    map[string]bool{"r/" + a: true, "r/" + b: true, "r/" + d: true, "r/" + e: true},
			failOnce: map[string]error{"r/" + d: errors.New("connection reset"), "r/" + e: errors.New("502")},
			acted:    acted,
		}
	}
	tests := []struct {
		name     string
		dryRun   bool
		acted    bool
		want     map[string]RestoreOutcome
		restored []string
	}{
		{"dry run", true, false, map[string]RestoreOutcome{a: RestoreWouldRestore, b: RestoreExistsAgain, c: RestoreNotInTrash,
			d: RestoreWouldRestore, e: RestoreWouldRestore}, nil},
		{"failures that did nothing", false, false, map[string]RestoreOutcome{a: RestoreRestored, b: RestoreExistsAgain, c: RestoreNotInTrash,
			d: RestoreFailed, e: RestoreFailed}, []string{"r/" + a}},
		{"lost answers after the restore worked", false, true, map[string]RestoreOutcome{a: RestoreRestored, b: RestoreExistsAgain,
			c: RestoreNotInTrash, d: RestoreRestored, e: RestoreRestored}, []string{"r/" + a, "r/" + d, "r/" + e}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(tt.acted)
			rep := RestoreFolders(context.Background(), f, items, tt.dryRun, 3)
			for _, it := range rep.Folders {
				want, ok := tt.want[it.Path]
				if !ok {
					want = RestoreFailed // the paths that are not digest folders
					if !strings.Contains(it.Error, "not a digest folder") {
						t.Errorf("%s: error %q", it.Path, it.Error)
					}
				}
				if it.Outcome != want {
					t.Errorf("%s: %s (%s), want %s", it.Path, it.Outcome, it.Error, want)
				}
			}
			slices.Sort(f.restored)
			if !slices.Equal(f.restored, tt.restored) {
				t.Errorf("restored %q, want %q", f.restored, tt.restored)
			}
			if rep.OK() {
				t.Errorf("OK with folders that did not come back")
			}
		})
	}
}

func TestDeletedFolders(t *testing.T) {
	report := `{"schema_version":2,"dry_run":false,"repositories":[
		{"repo":"b","deletions":[{"path":"x/sha256:2","outcome":"deleted"},{"path":"x/sha256:3","outcome":"failed"}]},
		{"repo":"a","deletions":[{"path":"y/sha256:1","outcome":"deleted"},{"path":"y/sha256:4","outcome":"already-gone"}]}]}`
	got, err := DeletedFolders(strings.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	want := []RestoreItem{{Repo: "a", Path: "y/sha256:1"}, {Repo: "b", Path: "x/sha256:2"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{`{}`, `{"schema_version":3,"repositories":[]}`, `{"schema_version":1,"dry_run":true,"repositories":[]}`, `not json`} {
		if _, err := DeletedFolders(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestDeletedReportCheckURL: a report names the server of its run; restore refuses it through another, and a
// report without a URL unless the caller says it checked (review 11, finding 6).
func TestDeletedReportCheckURL(t *testing.T) {
	const here = "https://prod.example.com/artifactory/"
	read := func(body string) *DeletedReport {
		t.Helper()
		rep, err := ReadDeletedReport(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	same := read(`{"schema_version":2,"dry_run":false,"url":"` + here + `","repositories":[{"repo":"a","deletions":[{"path":"y/sha256:1","outcome":"deleted"}]}]}`)
	if same.URL != here || len(same.Folders) != 1 {
		t.Fatalf("read %+v", same)
	}
	other := read(`{"schema_version":2,"dry_run":false,"url":"https://staging.example.com/artifactory/","repositories":[]}`)
	none := read(`{"schema_version":1,"dry_run":false,"repositories":[]}`)
	for _, tt := range []struct {
		name    string
		rep     *DeletedReport
		noURLOK bool
		ok      bool
		want    string
	}{
		{"same server", same, false, true, ""},
		{"another server", other, false, false, "is of a run against https://staging.example.com/artifactory/, not " + here},
		{"another server, even when a missing URL is allowed", other, true, false, "restore it through the same Artifactory"},
		{"no URL", none, false, false, "--report-without-url"},
		{"no URL, allowed", none, true, true, ""},
	} {
		err := tt.rep.CheckURL(here, tt.noURLOK)
		if (err == nil) != tt.ok || (err != nil && (!errors.Is(err, ErrReportServer) || !strings.Contains(err.Error(), tt.want))) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
