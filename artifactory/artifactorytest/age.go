package artifactorytest

import (
	"strings"
	"time"
)

// Age moves the created, modified and updated times of every item back by d: d passes for the stored items while
// the server's clock stays where it is. That is what time passing looks like to a client whose clock agrees with
// the server's, where Clock.Advance makes the server's clock run ahead of every client's (as a skewed server or a
// proxy writing Date from its own clock would). Tests that only need manifests to grow old use Age.
func (s *Store) Age(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.order {
		if old == nil || old.id == 0 {
			continue
		}
		it := *old
		it.Created, it.Modified, it.Updated = it.Created.Add(-d), it.Modified.Add(-d), it.Updated.Add(-d)
		// Replace in place in the indexes, as SetProps does: items are immutable to their readers.
		s.items[itemKey{it.Repo, it.FullPath()}] = &it
		s.children[itemKey{it.Repo, strings.TrimPrefix(it.Path, ".")}][it.Name] = &it
		s.order[it.slot] = &it
		s.replaceNameLocked(old, &it)
		old.id = 0
	}
}
