package sessionctl

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// Session is one session in the JSON output of list: the record's
// metadata, never its token or values.
type Session struct {
	// Key is the store key, a hash of the token (usable with revoke KEY).
	Key        string            `json:"key"`
	UserID     string            `json:"user_id"`
	CreatedAt  time.Time         `json:"created_at"`
	LastSeen   time.Time         `json:"last_seen"`
	ExpiresAt  time.Time         `json:"expires_at"`
	Persistent bool              `json:"persistent"`
	Meta       map[string]string `json:"meta,omitempty"`
}

// List is the JSON output of list.
type List struct {
	UserID   string    `json:"user_id"`
	Sessions []Session `json:"sessions"`
	// Expired counts the user's records that have expired but are still
	// stored; they are not listed.
	Expired int `json:"expired"`
}

func runList(ctx context.Context, c *cmd) error {
	user := c.fs.String("user", "", "the user `ID` whose sessions to list (required)")
	if err := c.parse(); err != nil {
		return err
	}
	if *user == "" || len(c.args) > 0 {
		return exitf(ExitUsage, "usage: sessionctl list --user ID")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	ui, err := c.userIndex(s, "list")
	if err != nil {
		return err
	}
	infos, err := ui.ListByUser(ctx, *user)
	if err != nil {
		return storeError("list", err)
	}
	now := time.Now()
	out := List{UserID: *user, Sessions: []Session{}}
	for _, si := range infos {
		if !si.ExpiresAt.After(now) {
			out.Expired++
			continue
		}
		out.Sessions = append(out.Sessions, Session{
			Key: si.ID, UserID: si.UserID, CreatedAt: si.CreatedAt, LastSeen: si.LastSeen,
			ExpiresAt: si.ExpiresAt, Persistent: si.Persistent, Meta: si.Meta,
		})
	}
	if c.json {
		return c.writeJSON(out)
	}
	w := tabwriter.NewWriter(c.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tCREATED\tLAST SEEN\tEXPIRES\tPERSISTENT\tIP\tUSER AGENT")
	for _, s := range out.Sessions {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%t\t%s\t%s\n", s.Key, s.CreatedAt.Format(time.RFC3339),
			s.LastSeen.Format(time.RFC3339), s.ExpiresAt.Format(time.RFC3339), s.Persistent,
			orDash(s.Meta["ip"]), orDash(s.Meta["ua"]))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.env.Stdout, "%d live sessions of user %s", len(out.Sessions), *user)
	if out.Expired > 0 {
		fmt.Fprintf(c.env.Stdout, " (and %d expired, not yet collected)", out.Expired)
	}
	fmt.Fprintln(c.env.Stdout)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// Revoked is the JSON output of revoke.
type Revoked struct {
	UserID  string   `json:"user_id,omitempty"`
	Keys    []string `json:"keys,omitempty"`
	Revoked int      `json:"revoked"`
}

func runRevoke(ctx context.Context, c *cmd) error {
	user := c.fs.String("user", "", "revoke every session of the user `ID`")
	var except stringList
	c.fs.Var(&except, "except", "with --user: keep the session with this `KEY` (repeatable)")
	if err := c.parse(); err != nil {
		return err
	}
	switch {
	case *user == "" && len(c.args) == 0:
		return exitf(ExitUsage, "usage: sessionctl revoke --user ID [--except KEY]... | sessionctl revoke KEY...")
	case *user != "" && len(c.args) > 0:
		return exitf(ExitUsage, "revoke: give either --user ID or session keys, not both")
	case *user == "" && len(except) > 0:
		return exitf(ExitUsage, "revoke: --except needs --user")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	out := Revoked{UserID: *user}
	if *user != "" {
		ui, err := c.userIndex(s, "revoke --user")
		if err != nil {
			return err
		}
		if out.Revoked, err = ui.DeleteByUser(ctx, *user, except...); err != nil {
			return storeError("revoke", err)
		}
	} else {
		var missing []string
		for _, key := range c.args {
			rec, err := s.Load(ctx, key)
			if err != nil {
				return storeError("revoke", err)
			}
			if rec == nil {
				missing = append(missing, key)
				continue
			}
			if err := s.Delete(ctx, key); err != nil {
				return storeError("revoke", err)
			}
			out.Keys = append(out.Keys, key)
			out.Revoked++
		}
		if len(missing) > 0 {
			if c.json {
				c.writeJSON(out)
			}
			return exitf(ExitNotFound, "revoke: no session with key %s (revoked %d)", strings.Join(missing, ", "), out.Revoked)
		}
	}
	if c.json {
		return c.writeJSON(out)
	}
	if *user != "" {
		fmt.Fprintf(c.env.Stdout, "revoked %d sessions of user %s\n", out.Revoked, *user)
	} else {
		fmt.Fprintf(c.env.Stdout, "revoked %d sessions\n", out.Revoked)
	}
	return nil
}

// Purged is the JSON output of purge.
type Purged struct {
	Store   string `json:"store"`
	Deleted int    `json:"deleted"`
	// NativeExpiry is true for stores whose server deletes expired records
	// itself (Redis): purge has nothing to do there.
	NativeExpiry bool `json:"native_expiry"`
}

// expirer is the DeleteExpired method of the SQL and MongoDB stores.
type expirer interface {
	DeleteExpired(ctx context.Context) (int, error)
}

// nativeExpiry names the stores whose server expires records by itself.
var nativeExpiry = map[string]bool{"redis": true}

func runPurge(ctx context.Context, c *cmd) error {
	if err := c.parse(); err != nil {
		return err
	}
	if len(c.args) > 0 {
		return exitf(ExitUsage, "purge takes no arguments")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	out := Purged{Store: c.backend.Kind}
	if e, ok := s.(expirer); ok {
		bar := c.progress("purge")
		out.Deleted, err = e.DeleteExpired(ctx)
		bar.done()
		if err != nil {
			return storeError("purge", err)
		}
	} else if nativeExpiry[c.backend.Kind] {
		out.NativeExpiry = true
	} else {
		return exitf(ExitUnsupported, "purge: the %s store has no DeleteExpired method", c.backend.Kind)
	}
	if c.json {
		return c.writeJSON(out)
	}
	if out.NativeExpiry {
		fmt.Fprintf(c.env.Stdout, "%s deletes expired sessions itself (key expiry); nothing to purge\n", out.Store)
		return nil
	}
	fmt.Fprintf(c.env.Stdout, "deleted %d expired sessions\n", out.Deleted)
	return nil
}
