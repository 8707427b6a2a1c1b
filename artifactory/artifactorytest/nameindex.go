package artifactorytest

import "iter"

// nameList is the index of the items of one name, in database order. Removed items leave a nil hole, compacted
// lazily; an item replaced in place (SetProps) takes its predecessor's hole-free slot.
type nameList struct {
	items []*Item
	ids   []uint64 // ids[i] is items[i].id, read without touching the item
	holes int
}

func (s *Store) indexNameLocked(it *Item) {
	if s.byName == nil {
		s.byName = map[string]*nameList{}
	}
	nl := s.byName[it.Name]
	if nl == nil {
		nl = &nameList{}
		s.byName[it.Name] = nl
	}
	it.nameSlot = len(nl.items)
	nl.items = append(nl.items, it)
	nl.ids = append(nl.ids, it.id)
}

func (s *Store) unindexNameLocked(it *Item) {
	nl := s.byName[it.Name]
	if nl == nil || it.nameSlot >= len(nl.items) || nl.items[it.nameSlot] != it {
		return
	}
	nl.items[it.nameSlot] = nil
	nl.holes++
	if nl.holes > 1024 && nl.holes > len(nl.items)/2 {
		live, ids := nl.items[:0], nl.ids[:0]
		for i, x := range nl.items {
			if x != nil {
				x.nameSlot = len(live)
				live, ids = append(live, x), append(ids, nl.ids[i])
			}
		}
		clear(nl.items[len(live):])
		nl.items, nl.ids, nl.holes = live, ids, 0
	}
}

// replaceNameLocked puts it in the slot of old, which it replaces (same name, same id).
func (s *Store) replaceNameLocked(old, it *Item) {
	if nl := s.byName[it.Name]; nl != nil && old.nameSlot < len(nl.items) && nl.items[old.nameSlot] == old {
		nl.items[old.nameSlot] = it
	}
}

// ScanNames is Scan restricted to the items named one of names: it holds the read lock while fn runs and gives it
// those items in database order (the order Scan gives them in). AQL queries whose criteria restrict the name
// (aql.Query.Names) use it to skip the rest of the store.
func (s *Store) ScanNames(names []string, fn func(items iter.Seq[*Item])) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var lists []*nameList
	for _, n := range names {
		if nl := s.byName[n]; nl != nil && len(nl.items) > nl.holes {
			lists = append(lists, nl)
		}
	}
	fn(func(yield func(*Item) bool) {
		if len(lists) == 1 {
			for _, it := range lists[0].items {
				if it != nil && it.id != 0 && !yield(it) {
					return
				}
			}
			return
		}
		// A k-way merge on the items' ids, which grow in database order (a replaced item keeps its id).
		pos := make([]int, len(lists))
		for {
			best := -1
			var bestID uint64
			for i, l := range lists {
				for pos[i] < len(l.items) && l.items[pos[i]] == nil {
					pos[i]++
				}
				if pos[i] < len(l.items) && (best < 0 || l.ids[pos[i]] < bestID) {
					best, bestID = i, l.ids[pos[i]]
				}
			}
			if best < 0 {
				return
			}
			it := lists[best].items[pos[best]]
			pos[best]++
			if it.id != 0 && !yield(it) {
				return
			}
		}
	})
}
