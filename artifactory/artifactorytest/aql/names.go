package aql

import (
	"maps"
	"slices"
)

// Names returns the item names the criteria restrict results to, when they do: the criteria can hold only for an
// item whose "name" is one of names. ok is false when an item of any name may match. A store can then scan only
// the items of those names, in its database order, instead of every item; the results are the same.
//
// The restriction is read off the criteria tree: {"name":X} and {"name":{"$eq":X}} restrict to X; $and restricts
// to what all of its restricted children allow; $or restricts only when every child does, to their union.
func (q *Query) Names() (names []string, ok bool) {
	set, ok := nameSet(q.root)
	if !ok {
		return nil, false
	}
	return slices.Sorted(maps.Keys(set)), true
}

func nameSet(n node) (map[string]bool, bool) {
	switch n := n.(type) {
	case *strNode:
		if n.f == fName && n.op == opEq {
			return map[string]bool{n.v: true}, true
		}
	case andNode:
		var out map[string]bool
		for _, k := range n {
			set, ok := nameSet(k)
			if !ok {
				continue
			}
			if out == nil {
				out = set
				continue
			}
			maps.DeleteFunc(out, func(name string, _ bool) bool { return !set[name] })
		}
		return out, out != nil
	case orNode:
		out := map[string]bool{}
		for _, k := range n {
			set, ok := nameSet(k)
			if !ok {
				return nil, false
			}
			maps.Copy(out, set)
		}
		return out, true
	}
	return nil, false
}
