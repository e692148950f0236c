package sessionctl

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionkit/sessionkit"
)

// Stats is the JSON output of the stats command.
type Stats struct {
	Store string `json:"store"`
	// Live counts the sessions whose ExpiresAt is still ahead.
	Live       int `json:"live"`
	Persistent int `json:"persistent"`
	Browser    int `json:"browser"`
	// Anonymous counts the live sessions with no user ID.
	Anonymous int `json:"anonymous"`
	// Users counts the distinct user IDs of live sessions.
	Users int `json:"users"`
	// Expired counts the records whose ExpiresAt has passed but that the
	// store still holds (not yet garbage-collected).
	Expired  int         `json:"expired"`
	TopUsers []UserCount `json:"top_users"`
	// Age buckets the live sessions by time since CreatedAt, Idle by time
	// since LastSeen.
	Age  []Bucket `json:"age"`
	Idle []Bucket `json:"idle"`
}

// UserCount is one line of the top-users table.
type UserCount struct {
	UserID   string `json:"user_id"`
	Sessions int    `json:"sessions"`
}

// Bucket is one histogram bar: the sessions whose age is below
// UpToSeconds (0 for the last, open-ended bucket) and at least the
// previous bucket's bound.
type Bucket struct {
	Label       string `json:"label"`
	UpToSeconds int64  `json:"up_to_seconds,omitempty"`
	Count       int    `json:"count"`
}

// ageBounds and idleBounds are the upper bounds of the histograms' buckets;
// a last bucket takes the rest.
var (
	ageBounds  = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	idleBounds = []time.Duration{5 * time.Minute, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
)

// histogram is a set of buckets over bounds.
type histogram struct {
	bounds []time.Duration
	counts []int
}

func newHistogram(bounds []time.Duration) *histogram {
	return &histogram{bounds: bounds, counts: make([]int, len(bounds)+1)}
}

func (h *histogram) add(d time.Duration) {
	i, _ := slices.BinarySearch(h.bounds, d+1) // first bound > d
	h.counts[i]++
}

func (h *histogram) buckets() []Bucket {
	out := make([]Bucket, len(h.counts))
	for i, n := range h.counts {
		switch {
		case i == 0:
			out[i] = Bucket{Label: "< " + shortDuration(h.bounds[i]), UpToSeconds: int64(h.bounds[i] / time.Second), Count: n}
		case i < len(h.bounds):
			out[i] = Bucket{Label: shortDuration(h.bounds[i-1]) + " - " + shortDuration(h.bounds[i]), UpToSeconds: int64(h.bounds[i] / time.Second), Count: n}
		default:
			out[i] = Bucket{Label: ">= " + shortDuration(h.bounds[i-1]), Count: n}
		}
	}
	return out
}

// shortDuration writes d as 5m, 1h, 7d.
func shortDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func runStats(ctx context.Context, c *cmd) error {
	top := c.fs.Int("top", 10, "how many users to show in the top-users table")
	if err := c.parse(); err != nil {
		return err
	}
	if len(c.args) > 0 {
		return exitf(ExitUsage, "stats takes no arguments")
	}
	if *top < 0 {
		return exitf(ExitUsage, "--top must not be negative")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	it, err := c.iterator(s, "stats")
	if err != nil {
		return err
	}
	st, err := collectStats(ctx, c, it, time.Now(), *top)
	if err != nil {
		return err
	}
	if c.json {
		return c.writeJSON(st)
	}
	return writeStats(c, st)
}

// collectStats walks every session once. now decides which records have
// expired.
func collectStats(ctx context.Context, c *cmd, it sessionkit.Iterator, now time.Time, top int) (*Stats, error) {
	st := &Stats{Store: c.backend.Kind}
	perUser := map[string]int{}
	age, idle := newHistogram(ageBounds), newHistogram(idleBounds)
	err := c.each(ctx, it, "stats", func(page []sessionkit.SessionInfo) error {
		for _, si := range page {
			if !si.ExpiresAt.After(now) {
				st.Expired++
				continue
			}
			st.Live++
			if si.Persistent {
				st.Persistent++
			} else {
				st.Browser++
			}
			if si.UserID == "" {
				st.Anonymous++
			} else {
				perUser[si.UserID]++
			}
			age.add(now.Sub(si.CreatedAt))
			idle.add(now.Sub(si.LastSeen))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.Users = len(perUser)
	st.TopUsers = make([]UserCount, 0, len(perUser))
	for u, n := range perUser {
		st.TopUsers = append(st.TopUsers, UserCount{UserID: u, Sessions: n})
	}
	slices.SortFunc(st.TopUsers, func(a, b UserCount) int {
		return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), strings.Compare(a.UserID, b.UserID))
	})
	st.TopUsers = st.TopUsers[:min(top, len(st.TopUsers))]
	st.Age, st.Idle = age.buckets(), idle.buckets()
	return st, nil
}

// writeStats prints st for a person.
func writeStats(c *cmd, st *Stats) error {
	w := tabwriter.NewWriter(c.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "store\t%s\n", st.Store)
	fmt.Fprintf(w, "live sessions\t%d\n", st.Live)
	fmt.Fprintf(w, "  persistent (remember me)\t%d\n", st.Persistent)
	fmt.Fprintf(w, "  browser (until the browser closes)\t%d\n", st.Browser)
	fmt.Fprintf(w, "  anonymous (no user)\t%d\n", st.Anonymous)
	fmt.Fprintf(w, "users with sessions\t%d\n", st.Users)
	fmt.Fprintf(w, "expired, not yet collected\t%d\n", st.Expired)
	if len(st.TopUsers) > 0 {
		fmt.Fprintf(w, "\ntop users\tsessions\n")
		for _, u := range st.TopUsers {
			fmt.Fprintf(w, "  %s\t%d\n", u.UserID, u.Sessions)
		}
	}
	for _, h := range []struct {
		title   string
		buckets []Bucket
	}{{"age (since login)", st.Age}, {"idle (since last request)", st.Idle}} {
		fmt.Fprintf(w, "\n%s\tsessions\n", h.title)
		for _, b := range h.buckets {
			if bar := bar(b.Count, st.Live); bar != "" {
				fmt.Fprintf(w, "  %s\t%d\t%s\n", b.Label, b.Count, bar)
			} else {
				fmt.Fprintf(w, "  %s\t%d\n", b.Label, b.Count)
			}
		}
	}
	return w.Flush()
}

// bar draws n out of total as up to 40 '#'.
func bar(n, total int) string {
	if total == 0 || n == 0 {
		return ""
	}
	return strings.Repeat("#", max(1, n*40/total))
}
