package artifactorytest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest/aql"
)

// Download statistics, as Artifactory keeps them (Artifactory OSS 6.20):
//
//   - Every GET of a file of a local repository counts, made through the REST API or the Docker API alike; a HEAD
//     does not (StatsServiceImpl.updateDownloadStatsIfNeeded skips request.isHeadOnly(), Xray's user, and
//     requests of non-real repositories). It updates the file's download count, the time of the last download and
//     who made it. Artifactory flushes them to the database every 30 seconds (stats.flushIntervalSecs; remote:
//     35 s), so AQL sees a download up to that long after it; the emulator records it at once.
//   - A download made through another Artifactory (an edge node, or a remote repository of another instance) is
//     recorded as remote statistics per origin (StatsService.fileDownloadedRemotely: origin, path, user, time,
//     count). The emulator has no remote repositories; POST /_emulator/downloads stands in for such a pull.
//   - A Docker pull by tag reads <image>/<tag>/manifest.json (or list.manifest.json). Which file a pull by digest
//     counts against is not documented, and the Docker code is not in the OSS source: the emulator counts it
//     against every manifest file of the image with that digest (the digest folder's and every tag folder's), all
//     of which the pull could have been served from.
//   - Statistics belong to the file: overwriting it (a new node) or deleting it drops them; setting properties
//     keeps them. Downloads never change created, modified or updated.
//
// The statistics are served by GET api/storage/<repo>/<path>?stats (ArtifactResource.prepareStatsResponse,
// ItemStatsInfo) and by AQL's stat fields (aql/stats.go).

// RecordDownload records a local download of the file at repo/full by user at time at (the clock's time when
// zero). It fails when there is no such file.
func (s *Store) RecordDownload(repo, full, user string, at time.Time) error {
	return s.updateStats(repo, full, at, func(st *aql.Stats, at time.Time) {
		st.Downloads++
		st.Downloaded, st.DownloadedBy = at, user
	})
}

// RecordRemoteDownload records count downloads of the file at repo/full made through another Artifactory: origin
// names it, path is the path it was asked for there, user who asked.
func (s *Store) RecordRemoteDownload(repo, full, origin, path, user string, count int64, at time.Time) error {
	if count <= 0 {
		count = 1
	}
	return s.updateStats(repo, full, at, func(st *aql.Stats, at time.Time) {
		i := slices.IndexFunc(st.Remote, func(r aql.RemoteStats) bool { return r.Origin == origin })
		if i < 0 {
			st.Remote = append(st.Remote, aql.RemoteStats{Origin: origin})
			i = len(st.Remote) - 1
		}
		r := &st.Remote[i]
		r.Path, r.Downloads, r.Downloaded, r.DownloadedBy = path, r.Downloads+count, at, user
	})
}

// updateStats replaces the statistics of a file with a changed copy (the old value may be held by an AQL answer
// being written).
func (s *Store) updateStats(repo, full string, at time.Time, change func(*aql.Stats, time.Time)) error {
	full, err := CleanPath(full)
	if err != nil {
		return err
	}
	if at.IsZero() {
		at = s.clock.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[itemKey{repo, full}]
	if !ok || it.Folder {
		return fmt.Errorf("%s/%s: %w", repo, full, ErrNotFound)
	}
	var st aql.Stats
	if old := s.stats[itemKey{repo, full}]; old != nil {
		st = *old
		st.Remote = slices.Clone(old.Remote)
	}
	change(&st, at)
	if s.stats == nil {
		s.stats = map[itemKey]*aql.Stats{}
	}
	s.stats[itemKey{repo, full}] = &st
	return nil
}

// ageStatsLocked moves the download times back by d, as Age does the items' times: the downloads grow older too.
func (s *Store) ageStatsLocked(d time.Duration) {
	for k, old := range s.stats {
		st := *old
		st.Remote = slices.Clone(old.Remote)
		if st.Downloads > 0 {
			st.Downloaded = st.Downloaded.Add(-d)
		}
		for i := range st.Remote {
			st.Remote[i].Downloaded = st.Remote[i].Downloaded.Add(-d)
		}
		s.stats[k] = &st
	}
}

// DownloadStats returns the statistics of the file at repo/full; nil when it was never downloaded.
func (s *Store) DownloadStats(repo, full string) *aql.Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.stats[itemKey{repo, full}]
}

// statsLocked returns the statistics of it; the caller holds the lock (as Scan's callback does).
func (s *Store) statsLocked(it *Item) *aql.Stats {
	if len(s.stats) == 0 {
		return nil
	}
	return s.stats[itemKey{it.Repo, it.FullPath()}]
}

// statsItem is an AQL row with the statistics the item had when the query was evaluated.
type statsItem struct {
	*Item
	stats *aql.Stats
}

// Stats implements aql.StatsRow.
func (s statsItem) Stats() *aql.Stats { return s.stats }

// itemOf returns the item of an AQL row of the emulator.
func itemOf(r aql.Row) *Item {
	if s, ok := r.(statsItem); ok {
		return s.Item
	}
	return r.(*Item)
}

// recordDownload records a download by u of the file at repo/full, as a GET does; failures (the file went away
// meanwhile) are ignored, as Artifactory's asynchronous statistics are.
func (e *Emulator) recordDownload(r *http.Request, u *User, repo, full string) {
	if r.Method != http.MethodGet {
		return
	}
	name := ""
	if u != nil {
		name = u.Name
	}
	_ = e.store.RecordDownload(repo, full, name, time.Time{})
}

// statsInfo is the answer of GET api/storage/<repo>/<path>?stats (ItemStatsInfo): times in milliseconds since the
// epoch, 0 and null when there were no downloads. The remote fields sum every origin and take the latest.
type statsInfo struct {
	URI                    string  `json:"uri"`
	DownloadCount          int64   `json:"downloadCount"`
	LastDownloaded         int64   `json:"lastDownloaded"`
	LastDownloadedBy       *string `json:"lastDownloadedBy"`
	RemoteDownloadCount    int64   `json:"remoteDownloadCount"`
	RemoteLastDownloaded   int64   `json:"remoteLastDownloaded"`
	RemoteLastDownloadedBy *string `json:"remoteLastDownloadedBy"`
}

func newStatsInfo(uri string, st *aql.Stats) statsInfo {
	info := statsInfo{URI: uri}
	if st == nil {
		return info
	}
	if st.Downloads > 0 {
		by := st.DownloadedBy
		info.DownloadCount, info.LastDownloaded, info.LastDownloadedBy = st.Downloads, st.Downloaded.UnixMilli(), &by
	}
	for _, r := range st.Remote {
		info.RemoteDownloadCount += r.Downloads
		if ms := r.Downloaded.UnixMilli(); ms >= info.RemoteLastDownloaded {
			by := r.DownloadedBy
			info.RemoteLastDownloaded, info.RemoteLastDownloadedBy = ms, &by
		}
	}
	return info
}

// serveStats answers GET api/storage/<repo>/<path>?stats. A folder has no statistics: zeros.
func (e *Emulator) serveStats(w http.ResponseWriter, r *http.Request, repo Repo, full string) {
	it, ok := e.store.Get(repo.Key, full)
	if full == "" || !ok {
		writeErrors(w, http.StatusNotFound, "Unable to find item path")
		return
	}
	uri := baseURL(r) + "/artifactory/" + repo.Key + "/" + full
	var st *aql.Stats
	if !it.Folder {
		st = e.store.DownloadStats(repo.Key, full)
	}
	writeJSON(w, http.StatusOK, newStatsInfo(uri, st))
}

// serveDownloadsAdmin implements POST /_emulator/downloads?repo=R&path=P[&origin=O][&by=U][&count=N][&at=RFC3339]
// [&local=true]: records downloads of the file R/P as if made through the Artifactory named O (remote statistics),
// or, with local=true, as a local download.
func (e *Emulator) serveDownloadsAdmin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	repo, full := q.Get("repo"), strings.Trim(q.Get("path"), "/")
	if repo == "" || full == "" {
		writeErrors(w, http.StatusBadRequest, "repo and path are required: POST /_emulator/downloads?repo=docker-local&path=app/sha256:<hex>/manifest.json")
		return
	}
	var at time.Time
	if s := q.Get("at"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "at: want an RFC 3339 time")
			return
		}
		at = t
	}
	count := int64(1)
	if s := q.Get("count"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			writeErrors(w, http.StatusBadRequest, "count: want a positive integer")
			return
		}
		count = n
	}
	by := q.Get("by")
	if by == "" {
		by = "anonymous"
	}
	var err error
	if local, _ := strconv.ParseBool(q.Get("local")); local {
		for range count {
			if err = e.store.RecordDownload(repo, full, by, at); err != nil {
				break
			}
		}
	} else {
		origin := q.Get("origin")
		if origin == "" {
			origin = "edge"
		}
		err = e.store.RecordRemoteDownload(repo, full, origin, repo+"/"+full, by, count, at)
	}
	if err != nil {
		writeErrors(w, http.StatusNotFound, "Unable to find file "+repo+"/"+full+": "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, newStatsInfo(baseURL(r)+"/artifactory/"+repo+"/"+full, e.store.DownloadStats(repo, full)))
}
