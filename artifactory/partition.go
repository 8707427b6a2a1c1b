package artifactory

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/artprune/artprune/prune"
)

// ErrNeedsAdmin is wrapped by the error of a listing that must be complete on a server whose AQL refuses sort,
// for a caller that is not an admin: artprune cannot prove such a listing complete.
var ErrNeedsAdmin = fmt.Errorf("a complete listing without AQL sort needs an admin user: %w", prune.ErrIncomplete)

// rowKey is the (path, name) of a row: unique within a repository, and never changed by an upload.
type rowKey struct{ path, name string }

func (k rowKey) less(o rowKey) bool {
	if k.path != o.path {
		return k.path < o.path
	}
	return k.name < o.name
}

// partition is the rows whose (path, name) is at least from (nil: no lower bound) and below to (nil: none), in
// the server's order of strings.
type partition struct {
	from, to *rowKey
	parent   uint64 // fingerprint of the full answer this partition was split from; 0 for the first
	depth    int    // splits from the whole query
}

// maxPartitionDepth bounds how often one partition is split, so that a server whose order of strings defeats the
// splitting cannot keep a listing going forever. Even an answer that always holds the smallest keys of its
// partition (the worst case) halves the page each time: 4096 splits cover 2,048 pages of rows.
const maxPartitionDepth = 4096

// criteria restricts base to the partition.
func (p partition) criteria(base string) string {
	parts := []string{base}
	if p.from != nil {
		parts = append(parts, fmt.Sprintf(`{"$or":[{"path":{"$gt":%s}},{"$and":[{"path":{"$eq":%s}},{"name":{"$gte":%s}}]}]}`,
			jsonString(p.from.path), jsonString(p.from.path), jsonString(p.from.name)))
	}
	if p.to != nil {
		parts = append(parts, fmt.Sprintf(`{"$or":[{"path":{"$lt":%s}},{"$and":[{"path":{"$eq":%s}},{"name":{"$lt":%s}}]}]}`,
			jsonString(p.to.path), jsonString(p.to.path), jsonString(p.to.name)))
	}
	if len(parts) == 1 {
		return base
	}
	return `{"$and":[` + strings.Join(parts, ",") + `]}`
}

// partitionLimit is the .limit of a partition's query: the page size, but at least 2 so that a full answer can
// always be split in two.
func (c *Client) partitionLimit() int { return max(c.pageSize, 2) }

// searchPartitioned is [Client.Search] for a server whose AQL refuses .sort(): Artifactory OSS and JFrog
// Container Registry (AqlQueryValidator.blockSortingForOSS). Without a sort there is no stable order to page on,
// so it asks the query over partitions of the (path, name) keys instead, each with .limit(L) and no offset:
//
//   - an answer of k < L rows, without range.notification, is the whole partition for an admin, whose rows
//     Artifactory does not filter by permission, once the same query with .offset(k).limit(1) comes back empty
//     (SQL's OFFSET/LIMIT answers "more than k rows?" in any order); its rows are then delivered. A row there
//     means the server cut the answer below the limit without a sign: the answer is split as a full one;
//   - a full answer (L rows), or one the server trimmed (range.notification: more rows than its result limit),
//     may be part of the partition: it is discarded, and the partition is split in two at the median key of the
//     answer, [from, median) and [median, to), both asked again. Each holds fewer rows than the partition (the
//     answer has rows on both sides), so the splitting ends, with partitions small enough not to be trimmed. A
//     trimmed answer of fewer than 2 rows cannot be split: the listing fails, closed.
//
// The two halves are complementary in any total order of strings, so no row falls between them whatever the
// database's collation; if a collation differs from Go's byte order so much that a half comes back with the very
// answer it was split from, the listing stops with an error rather than loop. A row lies in exactly one partition
// and its key never changes, so a row present throughout the listing is delivered once; rows created or
// deleted meanwhile are the re-check's business, as with sorted paging.
//
// For a non-admin caller Artifactory filters rows after the limit without a sign, and the completeness probe of
// the sorted search needs sort; so with q.ConfirmEnd such a caller gets an error wrapping [ErrNeedsAdmin] (and
// prune.ErrIncomplete) before any query. Without ConfirmEnd (sizes) the answers are taken as they come.
func (c *Client) searchPartitioned(ctx context.Context, q Query, info ServerInfo, fn func(Row) error) error {
	if q.ConfirmEnd && !info.Admin {
		asked := info.licenses
		if asked == "" {
			asked = "the caller was not found to be an admin"
		}
		return fmt.Errorf("this Artifactory (%s) refuses AQL sort, and without sort artprune cannot prove that the listing "+
			"of a user who is not an admin is complete (Artifactory leaves out rows the user may not read, without a sign, "+
			"and the completeness probe needs sort); artprune asked api/system/licenses, which only admins may read: %s: %w; "+
			"run artprune as an admin user", info, asked, ErrNeedsAdmin)
	}
	limit := c.partitionLimit()
	capped := false // the server was found cutting answers below the limit (logged once)
	stack := []partition{{}}
	for queries := 1; len(stack) > 0; queries++ {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		query := fmt.Sprintf(`items.find(%s).include(%s).limit(%d)`, p.criteria(q.Criteria), quoteList(rowFields), limit)
		if len(query) > MaxQueryChars {
			return fmt.Errorf("AQL query of %d characters exceeds Artifactory's limit of %d: %w", len(query), MaxQueryChars, errQueryTooLong)
		}
		rows, trimmed, err := c.partitionQuery(ctx, query, limit)
		if err != nil {
			return fmt.Errorf("AQL partition query %d: %w", queries, err)
		}
		if trimmed && len(rows) < 2 {
			return fmt.Errorf("AQL partition query %d: Artifactory trimmed the answer to %d row, too few to split the partition: %w",
				queries, len(rows), prune.ErrIncomplete)
		}
		full := len(rows) >= limit || trimmed
		if !full && len(rows) > 0 {
			// A short answer is the whole partition only if the server did not cap it silently below the limit:
			// ask whether a row lies beyond it. SQL OFFSET k LIMIT 1 answers "more than k rows?" whatever the
			// order, so an empty answer proves the partition holds exactly the k rows listed (for an admin,
			// whose rows are not filtered); a row means the answer was cut, and the partition is split.
			more, err := c.morePartitionRows(ctx, p, q.Criteria, len(rows))
			if err != nil {
				return fmt.Errorf("AQL partition query %d: %w", queries, err)
			}
			if more != nil {
				if len(rows) < 2 {
					return fmt.Errorf("AQL partition query %d: Artifactory answered %d row for .limit(%d) although more match "+
						"(.offset(%d) found %s/%s), without range.notification: it cuts answers silently, too short to split: %w; "+
						"check the server's AQL result limit and any proxy in front of it (artprune doctor checks .limit)",
						queries, len(rows), limit, len(rows), more.Path, more.Name, prune.ErrIncomplete)
				}
				if !capped {
					capped = true
					c.log.Warn("Artifactory answers fewer AQL rows than .limit asks, without range.notification: splitting "+
						"partitions until they fit; lower --page-size below that cap", "rows", len(rows), "limit", limit)
				}
				full = true
			}
		}
		if !full {
			for _, r := range rows {
				if err := fn(r); err != nil {
					return err
				}
			}
			continue
		}
		keys := make([]rowKey, len(rows))
		for i, r := range rows {
			keys[i] = rowKey{r.Path, r.Name}
		}
		slices.SortFunc(keys, func(a, b rowKey) int {
			if a.less(b) {
				return -1
			}
			if b.less(a) {
				return 1
			}
			return 0
		})
		fp := fingerprint(keys)
		if fp == p.parent {
			return fmt.Errorf("AQL partition query %d: splitting the listing made no progress (the server orders paths "+
				"differently from byte order around %s/%s): %w; raise --page-size above the number of manifest files "+
				"of the repository, or run on a server whose AQL sorts", queries, keys[0].path, keys[0].name, prune.ErrIncomplete)
		}
		if p.depth >= maxPartitionDepth {
			return fmt.Errorf("AQL partition query %d: the listing was split %d times without end: %w; raise --page-size",
				queries, p.depth, prune.ErrIncomplete)
		}
		mid := keys[len(keys)/2]
		if mid == keys[0] { // only if keys repeat: take the first key above the smallest
			i := slices.IndexFunc(keys, func(k rowKey) bool { return keys[0].less(k) })
			if i < 0 {
				return fmt.Errorf("AQL partition query %d: %d rows with the same path and name %s/%s: %w",
					queries, len(keys), keys[0].path, keys[0].name, prune.ErrIncomplete)
			}
			mid = keys[i]
		}
		// Lower half last onto the stack, so it is asked first.
		stack = append(stack, partition{from: &mid, to: p.to, parent: fp, depth: p.depth + 1},
			partition{from: p.from, to: &mid, parent: fp, depth: p.depth + 1})
		c.log.Debug("AQL partition full: split", "at", mid.path+"/"+mid.name, "rows", len(rows))
	}
	return nil
}

// morePartitionRows asks for the row at position k of partition p (.offset(k).limit(1), no sort) and returns it,
// or nil when the partition holds no more than k rows.
func (c *Client) morePartitionRows(ctx context.Context, p partition, criteria string, k int) (*Row, error) {
	query := fmt.Sprintf(`items.find(%s).include(%s).offset(%d).limit(1)`, p.criteria(criteria), quoteList(rowFields), k)
	if len(query) > MaxQueryChars {
		return nil, fmt.Errorf("AQL query of %d characters exceeds Artifactory's limit of %d: %w", len(query), MaxQueryChars, errQueryTooLong)
	}
	rows, _, err := c.partitionQuery(ctx, query, 1)
	if err != nil {
		return nil, fmt.Errorf("asking whether the partition holds more than %d rows: %w", k, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// fingerprint hashes a sorted list of keys.
func fingerprint(keys []rowKey) uint64 {
	h := fnv.New64a()
	for _, k := range keys {
		h.Write([]byte(k.path))
		h.Write([]byte{0})
		h.Write([]byte(k.name))
		h.Write([]byte{0})
	}
	return h.Sum64() | 1 // never 0, the first partition's parent
}

// partitionQuery runs one partition's query, retrying failed or cut-short answers, and returns its rows and
// whether the server trimmed them (range.notification): unlike a page of the sorted search, a trimmed partition
// is split, not an error.
func (c *Client) partitionQuery(ctx context.Context, query string, limit int) ([]Row, bool, error) {
	var lastErr error
	for attempt := 1; attempt <= c.backoff.Attempts; attempt++ {
		rows, trimmed, err := c.AQL(ctx, query)
		if err == nil {
			if len(rows) > limit {
				return nil, false, fmt.Errorf("AQL answered %d rows for a limit of %d: %w", len(rows), limit, prune.ErrIncomplete)
			}
			return rows, trimmed, nil
		}
		var ae *APIError
		if errors.As(err, &ae) || !retryableError(err) || ctx.Err() != nil {
			return nil, false, err
		}
		lastErr = err
		c.log.Debug("retrying AQL partition", "attempt", attempt, "error", err)
		if err := sleep(ctx, c.backoff.wait(attempt, 0)); err != nil {
			return nil, false, err
		}
	}
	return nil, false, lastErr
}
