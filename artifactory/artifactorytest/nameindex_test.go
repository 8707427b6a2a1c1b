package artifactorytest

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestScanNames checks that ScanNames yields exactly the items of the names, in Scan's order, through inserts,
// overwrites, property changes and deletions (enough of them to compact both indexes).
func TestScanNames(t *testing.T) {
	s := NewStore(NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil))
	if err := s.AddRepo(Repo{Key: "r"}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"manifest.json", "list.manifest.json", "sha256__x", "other"}
	check := func(step int) {
		t.Helper()
		for _, want := range [][]string{{"manifest.json"}, {"manifest.json", "list.manifest.json"}, {"other", "nope"}, {"nope"}} {
			var all, got []*Item
			s.Scan(func(items iter.Seq[*Item]) {
				for it := range items {
					if slices.Contains(want, it.Name) {
						all = append(all, it)
					}
				}
			})
			s.ScanNames(want, func(items iter.Seq[*Item]) { got = slices.Collect(items) })
			if !slices.Equal(all, got) {
				t.Fatalf("step %d, names %q: ScanNames gave %d items, Scan %d (or another order)", step, want, len(got), len(all))
			}
		}
	}
	for step := range 6000 {
		folder := fmt.Sprintf("img/f%03d", rng.IntN(400))
		switch op := rng.IntN(10); {
		case op < 6:
			name := names[rng.IntN(len(names))]
			if _, err := s.PutFile(FileSpec{Repo: "r", Path: folder + "/" + name, Data: []byte(fmt.Sprint(step))}); err != nil {
				t.Fatal(err)
			}
		case op < 8:
			_ = s.SetProps("r", folder+"/"+names[rng.IntN(len(names))], map[string][]string{"k": {"v"}}, true)
		default:
			_, _ = s.Delete("r", folder)
		}
		if step%500 == 0 {
			check(step)
		}
	}
	check(6000)
}
