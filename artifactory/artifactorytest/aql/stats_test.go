package aql

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// statItem is a test Row with download statistics.
type statItem struct {
	item
	stats *Stats
}

func (s *statItem) Stats() *Stats { return s.stats }

func statRows() []Row {
	mk := func(name string, st *Stats) Row {
		return &statItem{item: item{repo: "r", path: "app/" + name, name: "manifest.json", created: t0, modified: t0, updated: t0, sha256: name}, stats: st}
	}
	return []Row{
		mk("never", nil),
		mk("local-old", &Stats{Downloads: 3, Downloaded: now.Add(-40 * 24 * time.Hour), DownloadedBy: "ci"}),
		mk("local-new", &Stats{Downloads: 1, Downloaded: now.Add(-2 * time.Hour), DownloadedBy: "kubelet"}),
		mk("remote-new", &Stats{Remote: []RemoteStats{
			{Origin: "edge-1", Path: "p", Downloads: 1, Downloaded: now.Add(-50 * 24 * time.Hour), DownloadedBy: "a"},
			{Origin: "edge-2", Path: "p", Downloads: 2, Downloaded: now.Add(-time.Hour), DownloadedBy: "b"},
		}}),
	}
}

func TestStatCriteria(t *testing.T) {
	cutoff := now.Add(-7 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z07:00")
	tests := []struct {
		name, criteria string
		want           []string
	}{
		{"local downloaded since", `{"stat.downloaded":{"$gte":"` + cutoff + `"}}`, []string{"app/local-new"}},
		{"local downloaded $last", `{"stat.downloaded":{"$last":"7d"}}`, []string{"app/local-new"}},
		{"remote downloaded since: any origin", `{"stat.remote_downloaded":{"$gte":"` + cutoff + `"}}`, []string{"app/remote-new"}},
		{"either, left outer joins", `{"$or":[{"stat.downloaded":{"$gte":"` + cutoff + `"}},{"stat.remote_downloaded":{"$gte":"` + cutoff + `"}}]}`, []string{"app/local-new", "app/remote-new"}},
		{"never downloaded is NULL", `{"stat.downloads":{"$eq":null}}`, []string{"app/never", "app/remote-new"}},
		{"$ne holds for NULL", `{"stat.downloaded_by":{"$ne":"ci"}}`, []string{"app/local-new", "app/never", "app/remote-new"}},
		{"count", `{"stat.downloads":{"$gt":1}}`, []string{"app/local-old"}},
		{"origin match", `{"stat.remote_origin":{"$match":"edge-*"}}`, []string{"app/remote-new"}},
		{"remote count of some origin", `{"stat.remote_downloads":{"$gte":2}}`, []string{"app/remote-new"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(`items.find(` + tc.criteria + `).include("repo","path","name").sort({"$asc":["path","name"]}).limit(10)`)
			if err != nil {
				t.Fatal(err)
			}
			if !q.UsesStats() {
				t.Error("UsesStats = false")
			}
			res := q.Execute(slices.Values(statRows()), now, 0)
			var got []string
			for _, r := range res.Rows {
				got = append(got, r.(*statItem).path)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatInclude(t *testing.T) {
	q, err := Parse(`items.find({"path":{"$match":"app/*"}}).include("path","stat.downloads","stat.downloaded","stat.remote_origin")`)
	if err != nil {
		t.Fatal(err)
	}
	res := q.Execute(slices.Values(statRows()), now, 0)
	var buf bytes.Buffer
	if err := q.WriteJSON(&buf, res, time.UTC); err != nil {
		t.Fatal(err)
	}
	want := `{"results":[{"path":"app/never"},` +
		`{"path":"app/local-old","stats":[{"downloads":3,"downloaded":"2024-01-21T00:00:00.000Z"}]},` +
		`{"path":"app/local-new","stats":[{"downloads":1,"downloaded":"2024-02-29T22:00:00.000Z"}]},` +
		`{"path":"app/remote-new","stats":[{"remote_origin":"edge-1"},{"remote_origin":"edge-2"}]}],` +
		`"range":{"start_pos":0,"end_pos":4,"total":4}}`
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
