package redislayout

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sessionkit/sessionkit"
)

// Cursor is the position of an iteration: a node's address, the SCAN
// cursor on that node and, when a SCAN batch was split across pages, the
// last key already returned from it. The zero Cursor starts an iteration.
type Cursor struct {
	Node  string
	Scan  uint64
	After string
}

// String encodes c as an opaque, URL-safe string.
func (c Cursor) String() string {
	raw := c.Node + "\x00" + strconv.FormatUint(c.Scan, 10) + "\x00" + c.After
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseCursor decodes a cursor that Cursor.String returned; "" is the
// zero Cursor. The error wraps ErrMalformed.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := fmt.Errorf("%w cursor %q", ErrMalformed, s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	parts := strings.SplitN(string(raw), "\x00", 3)
	if len(parts) != 3 {
		return Cursor{}, bad
	}
	scan, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		return Cursor{}, bad
	}
	return Cursor{Node: parts[0], Scan: scan, After: parts[2]}, nil
}

// Node is a Redis server that holds sessions (a master of a Cluster, a
// shard, or the one server), as Iterate scans it.
type Node struct {
	// Addr names the node in cursors; "" for the one server.
	Addr string
	// Scan runs SCAN cursor MATCH match COUNT count TYPE hash on the node
	// and returns the keys and the next cursor.
	Scan func(ctx context.Context, cursor uint64, match string, count int64) (keys []string, next uint64, err error)
}

// Iterate returns the page of sessions that starts at cur, at most
// about limit of them, and the cursor of the next page ("" at the end). It
// scans nodes in address order, skipping to the first node after the
// cursor's if that one has left; records reads the sessions ids, as a
// slice of records (expired ones included) or nil at the same positions.
// Errors of Scan and records are returned unchanged.
func (l Layout) Iterate(ctx context.Context, cur Cursor, limit int, nodes []Node,
	records func(ctx context.Context, ids []string) ([]*sessionkit.Record, error)) ([]sessionkit.SessionInfo, string, error) {
	if limit <= 0 {
		limit = 100
	}
	nodes = slices.SortedFunc(slices.Values(nodes), func(a, b Node) int { return cmp.Compare(a.Addr, b.Addr) })
	start := 0
	if cur != (Cursor{}) {
		var found bool
		start, found = slices.BinarySearchFunc(nodes, cur.Node, func(n Node, addr string) int {
			return cmp.Compare(n.Addr, addr)
		})
		if !found {
			cur = Cursor{}
		}
	}
	match := l.ScanMatch()
	for i := start; i < len(nodes); i++ {
		node := nodes[i]
		if i != start {
			cur = Cursor{}
		}
		for {
			keys, scanNext, err := node.Scan(ctx, cur.Scan, match, int64(limit))
			if err != nil {
				return nil, "", err
			}
			// A SCAN batch can hold more keys than limit. Sort it, skip
			// what an earlier page returned from it and, if it is still
			// too long, return a part and scan the same batch again for
			// the next page.
			slices.Sort(keys)
			var ids []string
			for _, k := range keys {
				if k > cur.After {
					if id := l.IDFromKey(k); id != "" {
						ids = append(ids, id)
					}
				}
			}
			var next Cursor
			done := false
			switch {
			case len(ids) > limit:
				ids = ids[:limit]
				next = Cursor{Node: node.Addr, Scan: cur.Scan, After: l.SessionKey(ids[limit-1])}
			case scanNext != 0:
				next = Cursor{Node: node.Addr, Scan: scanNext}
			case i+1 < len(nodes):
				next = Cursor{Node: nodes[i+1].Addr}
			default:
				done = true
			}
			recs, err := records(ctx, ids)
			if err != nil {
				return nil, "", err
			}
			var page []sessionkit.SessionInfo
			for _, rec := range recs {
				if rec != nil {
					page = append(page, rec.Info())
				}
			}
			if done {
				return page, "", nil
			}
			if len(page) > 0 {
				return page, next.String(), nil
			}
			if next.Node != node.Addr {
				break
			}
			cur = next
		}
	}
	return nil, "", nil
}
