package aql

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortedPagesMatchAFullSort checks the bounded heap behind sorted pages against a sort of every match, on
// random data with many ties, for every offset and limit combination of a few sizes.
func TestSortedPagesMatchAFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	items := make([]*item, 300)
	for i := range items {
		// Few distinct paths and sizes: plenty of ties, which must keep iterator order.
		items[i] = mk(i, fmt.Sprintf("r/p%d/n%d", rng.IntN(7), rng.IntN(5)), nil)
		items[i].size = int64(rng.IntN(4))
	}
	for _, sort := range []string{`{"$asc":["path","size"]}`, `{"$desc":["size","name"]}`, `{"$asc":["created"]}`} {
		all := run(t, `items.find({"repo":"r"}).include("repo","path","name","size","created").sort(`+sort+`)`, items)
		for _, offset := range []int{0, 1, 5, 299, 300, 400} {
			for _, limit := range []int{0, 1, 3, 50, 1000} {
				q := fmt.Sprintf(`items.find({"repo":"r"}).include("repo","path","name","size","created").sort(%s).offset(%d).limit(%d)`, sort, offset, limit)
				got := run(t, q, items)
				want := all[min(offset, len(all)):min(offset+limit, len(all))]
				if !slices.Equal(got, want) {
					t.Fatalf("%s\n got %v\nwant %v", q, got, want)
				}
			}
		}
	}
}
