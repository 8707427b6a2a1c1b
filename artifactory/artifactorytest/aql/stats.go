package aql

import (
	"strconv"
	"strings"
	"time"
)

// The stat domain: an item's download statistics. Artifactory keeps them in two tables joined to the item
// (Artifactory OSS 6.20, AqlTableGraph: nodes -> stats, nodes -> stats_remote, both on node_id): one row of local
// statistics per item, and one row of remote statistics per origin (an edge or remote Artifactory that pulled the
// item through this one). AqlPhysicalFieldEnum names the fields: stat.downloaded (date), stat.downloads (integer),
// stat.downloaded_by, stat.remote_downloaded (date), stat.remote_downloads (integer), stat.remote_downloaded_by,
// stat.remote_origin and stat.remote_path. The joins are left outer joins once a query touches more than one table
// (BasicSqlGenerator.resolveJoinType), so an item without statistics has NULL stat fields: it satisfies $ne, $nmatch
// and {"$eq":null} only, like a primary field without a value. A criterion on a remote field holds when some origin's
// row satisfies it. The query is SELECT DISTINCT (AqlQuery.distinct), so criteria on stat fields never repeat an item
// as long as only primary fields are included.

// Stats are the download statistics of one item. The zero value means never downloaded.
type Stats struct {
	// Downloads counts the local downloads; 0 means there is no local statistics row.
	Downloads int64
	// Downloaded is the time of the last local download; DownloadedBy the user who made it.
	Downloaded   time.Time
	DownloadedBy string
	// Remote holds one entry per origin that downloaded the item through another Artifactory.
	Remote []RemoteStats
}

// RemoteStats are the statistics of downloads made through another Artifactory (an edge node, or a remote
// repository of another instance pointing at this one).
type RemoteStats struct {
	Origin       string
	Path         string
	Downloads    int64
	Downloaded   time.Time
	DownloadedBy string
}

// StatsRow is implemented by rows that carry download statistics. Stats returns nil for an item never downloaded.
// Rows that do not implement it have no statistics.
type StatsRow interface {
	Stats() *Stats
}

// statField is a field of the stat domain.
type statField uint8

const (
	sDownloaded statField = iota
	sDownloads
	sDownloadedBy
	sRemoteDownloaded
	sRemoteDownloads
	sRemoteDownloadedBy
	sRemoteOrigin
	sRemotePath
	numStatFields
)

// statTable is indexed by statField, in the output order of .include("stat.*").
var statTable = [numStatFields]fieldInfo{
	sDownloaded:         {"downloaded", kindTime},
	sDownloads:          {"downloads", kindInt},
	sDownloadedBy:       {"downloaded_by", kindString},
	sRemoteDownloaded:   {"remote_downloaded", kindTime},
	sRemoteDownloads:    {"remote_downloads", kindInt},
	sRemoteDownloadedBy: {"remote_downloaded_by", kindString},
	sRemoteOrigin:       {"remote_origin", kindString},
	sRemotePath:         {"remote_path", kindString},
}

func (f statField) remote() bool { return f >= sRemoteDownloaded }

// lookupStatField returns the stat field named "stat.<name>".
func lookupStatField(key string) (statField, bool) {
	name, ok := strings.CutPrefix(key, "stat.")
	if !ok {
		return 0, false
	}
	for i := range statTable {
		if statTable[i].name == name {
			return statField(i), true
		}
	}
	return 0, false
}

// statValues appends the values of field f of s to out: one for a local field when the item has local statistics,
// one per origin for a remote field.
func statValues(s *Stats, f statField, out []fieldVal) []fieldVal {
	if s == nil {
		return out
	}
	if !f.remote() {
		if s.Downloads <= 0 {
			return out
		}
		switch f {
		case sDownloaded:
			return append(out, fieldVal{ok: true, t: s.Downloaded})
		case sDownloads:
			return append(out, fieldVal{ok: true, n: s.Downloads})
		default:
			return append(out, fieldVal{ok: s.DownloadedBy != "", s: s.DownloadedBy})
		}
	}
	for _, r := range s.Remote {
		var v fieldVal
		switch f {
		case sRemoteDownloaded:
			v = fieldVal{ok: true, t: r.Downloaded}
		case sRemoteDownloads:
			v = fieldVal{ok: true, n: r.Downloads}
		case sRemoteDownloadedBy:
			v = fieldVal{ok: r.DownloadedBy != "", s: r.DownloadedBy}
		case sRemoteOrigin:
			v = fieldVal{ok: r.Origin != "", s: r.Origin}
		default:
			v = fieldVal{ok: r.Path != "", s: r.Path}
		}
		out = append(out, v)
	}
	return out
}

// statNode is a criterion on a stat field. It holds when some value of the field satisfies test; when the item has
// no value (SQL NULL), it holds when onNull does.
type statNode struct {
	f      statField
	test   func(c *evalCtx, v *fieldVal) bool
	onNull bool
}

func (n *statNode) eval(c *evalCtx) bool {
	var s *Stats
	if sr, ok := c.row.(StatsRow); ok {
		s = sr.Stats()
	}
	var buf [4]fieldVal
	vals := statValues(s, n.f, buf[:0])
	has := false
	for i := range vals {
		if !vals[i].ok {
			continue
		}
		has = true
		if n.test(c, &vals[i]) {
			return true
		}
	}
	return !has && n.onNull
}

// statNode builds the node of one operator on a stat field, with the value rules of the primary fields.
func (p *parser) statNode(f statField, op cmpOp, opTok token, v value) (node, *Error) {
	info := statTable[f]
	name := "stat." + info.name
	if v.null {
		switch op {
		case opEq:
			return &statNode{f: f, test: func(*evalCtx, *fieldVal) bool { return false }, onNull: true}, nil
		case opNe:
			return &statNode{f: f, test: func(*evalCtx, *fieldVal) bool { return true }}, nil
		}
		return nil, badRequest("Illegal syntax the 'null' values are allowed to use only with equals and not equals operators.")
	}
	onNull := op == opNe || op == opNmatch
	switch info.kind {
	case kindString:
		switch op {
		case opMatch, opNmatch:
			g := compileGlob(v.text())
			neg := op == opNmatch
			return &statNode{f: f, onNull: onNull, test: func(_ *evalCtx, fv *fieldVal) bool { return g.match(fv.s) != neg }}, nil
		case opBefore, opLast:
			return nil, badRequest("AQL operator %s applies to date fields only, not to field %q", opTok.text, name)
		}
		s := v.text()
		return &statNode{f: f, onNull: onNull, test: func(_ *evalCtx, fv *fieldVal) bool { return op.holds(strings.Compare(fv.s, s)) }}, nil
	case kindInt:
		if op >= opMatch {
			return nil, badRequest("AQL operator %s does not apply to the numeric field %q", opTok.text, name)
		}
		n, ok := parseIntValue(v.text())
		if !ok {
			return nil, badRequest("Invalid value %q for the numeric field %q", v.text(), name)
		}
		return &statNode{f: f, onNull: onNull, test: func(_ *evalCtx, fv *fieldVal) bool { return op.holds(cmp64(fv.n, n)) }}, nil
	}
	switch op {
	case opMatch, opNmatch:
		return nil, badRequest("AQL operator %s does not apply to the date field %q", opTok.text, name)
	case opBefore, opLast:
		if v.tok.kind != tokString {
			return nil, badRequest("Invalid relative date format for: %s", v.text())
		}
		rt, err := parseRelTime(v.text())
		if err != nil {
			return nil, err
		}
		p.rels = append(p.rels, rt)
		idx, last := len(p.rels)-1, op == opLast
		return &statNode{f: f, test: func(c *evalCtx, fv *fieldVal) bool {
			if last {
				return fv.t.After(c.edges[idx])
			}
			return fv.t.Before(c.edges[idx])
		}}, nil
	}
	ms, err := dateMillis(v, name)
	if err != nil {
		return nil, err
	}
	return &statNode{f: f, onNull: onNull, test: func(_ *evalCtx, fv *fieldVal) bool { return op.holds(cmp64(truncMillis(fv.t), ms)) }}, nil
}

// UsesStats reports whether the query's criteria or include section touch the stat domain, so that a store knows
// whether its rows must carry statistics.
func (q *Query) UsesStats() bool { return q.usesStats }

// appendStats appends "stats":[...] for the included stat fields: one object per origin of remote statistics, each
// with the local fields too (the SQL join yields one row per origin, which AqlJsonStreamer merges into the item's
// "stats" list), or one object of local fields. An item never downloaded gets no "stats" key.
func (q *Query) appendStats(buf []byte, r Row, first bool, loc *time.Location) []byte {
	sr, ok := r.(StatsRow)
	if !ok {
		return buf
	}
	s := sr.Stats()
	if s == nil || (s.Downloads <= 0 && len(s.Remote) == 0) {
		return buf
	}
	if !first {
		buf = append(buf, ',')
	}
	buf = append(buf, `"stats":[`...)
	n := max(len(s.Remote), 1)
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '{')
		one := &Stats{Downloads: s.Downloads, Downloaded: s.Downloaded, DownloadedBy: s.DownloadedBy}
		if i < len(s.Remote) {
			one.Remote = s.Remote[i : i+1]
		}
		firstField := true
		for _, f := range q.include.stats {
			var vb [1]fieldVal
			vals := statValues(one, f, vb[:0])
			if len(vals) == 0 || !vals[0].ok {
				continue
			}
			if !firstField {
				buf = append(buf, ',')
			}
			firstField = false
			info := &statTable[f]
			buf = appendJSONString(buf, info.name)
			buf = append(buf, ':')
			switch info.kind {
			case kindString:
				buf = appendJSONString(buf, vals[0].s)
			case kindInt:
				buf = strconv.AppendInt(buf, vals[0].n, 10)
			default:
				buf = append(buf, '"')
				buf = vals[0].t.In(loc).AppendFormat(buf, timeLayout)
				buf = append(buf, '"')
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']')
}
