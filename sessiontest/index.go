package sessiontest

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

func runUserIndex(t *testing.T, idx sessionkit.UserIndex) {
	st := idx.(sessionkit.Store)
	ids := func(list []sessionkit.SessionInfo) []string {
		var out []string
		for _, i := range list {
			out = append(out, i.ID)
		}
		return out
	}
	create := func(t *testing.T, user string, age time.Duration) *sessionkit.Record {
		t.Helper()
		rec := newRecord(t, user)
		rec.CreatedAt = rec.CreatedAt.Add(-age)
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}

	t.Run("ListAndRevoke", func(t *testing.T) {
		user, other := "user-"+randomID(t), "user-"+randomID(t)
		a := create(t, user, 3*time.Hour)
		b := create(t, user, 2*time.Hour)
		c := create(t, user, time.Hour)
		o := create(t, other, 0)
		create(t, "", 0) // anonymous

		list, err := idx.ListByUser(ctx(t), user)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{a.ID, b.ID, c.ID}; !slices.Equal(ids(list), want) {
			t.Fatalf("ListByUser = %v; want %v (oldest first)", ids(list), want)
		}
		first := list[0]
		if first.UserID != user || !first.CreatedAt.Equal(a.CreatedAt) || !first.LastSeen.Equal(a.LastSeen) ||
			!first.ExpiresAt.Equal(a.ExpiresAt) || first.Meta["ua"] != a.Meta["ua"] || first.Meta["ip"] != a.Meta["ip"] {
			t.Fatalf("ListByUser entry = %+v; want the record's metadata", first)
		}

		// Revoke one.
		if err := st.Delete(ctx(t), b.ID); err != nil {
			t.Fatal(err)
		}
		list, _ = idx.ListByUser(ctx(t), user)
		if want := []string{a.ID, c.ID}; !slices.Equal(ids(list), want) {
			t.Fatalf("after Delete: %v; want %v", ids(list), want)
		}

		// Revoke all but the current.
		n, err := idx.DeleteByUser(ctx(t), user, c.ID)
		if err != nil || n != 1 {
			t.Fatalf("DeleteByUser = %d, %v; want 1, nil", n, err)
		}
		list, _ = idx.ListByUser(ctx(t), user)
		if want := []string{c.ID}; !slices.Equal(ids(list), want) {
			t.Fatalf("after DeleteByUser: %v; want %v", ids(list), want)
		}
		if got, _ := st.Load(ctx(t), a.ID); got != nil {
			t.Fatal("DeleteByUser left a revoked session loadable")
		}
		if got, _ := st.Load(ctx(t), o.ID); got == nil {
			t.Fatal("DeleteByUser deleted another user's session")
		}

		// Revoke all.
		if n, err := idx.DeleteByUser(ctx(t), user); err != nil || n != 1 {
			t.Fatalf("DeleteByUser(all) = %d, %v; want 1, nil", n, err)
		}
		if list, _ := idx.ListByUser(ctx(t), user); len(list) != 0 {
			t.Fatalf("sessions left after revoking all: %v", ids(list))
		}
	})

	t.Run("UnknownUser", func(t *testing.T) {
		list, err := idx.ListByUser(ctx(t), "nobody-"+randomID(t))
		if err != nil || len(list) != 0 {
			t.Fatalf("ListByUser(unknown) = %v, %v", list, err)
		}
		if n, err := idx.DeleteByUser(ctx(t), "nobody-"+randomID(t)); err != nil || n != 0 {
			t.Fatalf("DeleteByUser(unknown) = %d, %v", n, err)
		}
	})

	t.Run("EmptyUserID", func(t *testing.T) {
		// Anonymous sessions belong to no user: the empty user ID lists
		// and deletes nothing.
		anon := create(t, "", 0)
		if list, err := idx.ListByUser(ctx(t), ""); err != nil || len(list) != 0 {
			t.Fatalf(`ListByUser("") = %v, %v; want no sessions`, ids(list), err)
		}
		if n, err := idx.DeleteByUser(ctx(t), ""); err != nil || n != 0 {
			t.Fatalf(`DeleteByUser("") = %d, %v; want 0, nil`, n, err)
		}
		if got, _ := st.Load(ctx(t), anon.ID); got == nil {
			t.Fatal(`DeleteByUser("") deleted an anonymous session`)
		}
	})

	t.Run("ExpiredNotListed", func(t *testing.T) {
		user := "user-" + randomID(t)
		live := create(t, user, 0)
		dead := create(t, user, time.Minute)
		past := now().Add(-time.Second)
		if err := st.Touch(ctx(t), dead.ID, past, past); err != nil {
			t.Fatal(err)
		}
		list, _ := idx.ListByUser(ctx(t), user)
		if !slices.Equal(ids(list), []string{live.ID}) {
			t.Fatalf("ListByUser = %v; want only the live session", ids(list))
		}
		if n, _ := idx.DeleteByUser(ctx(t), user); n != 1 {
			t.Fatalf("DeleteByUser counted %d sessions; want 1 (expired ones do not count)", n)
		}
	})

	t.Run("UserChangeMovesIndex", func(t *testing.T) {
		from, to := "user-"+randomID(t), "user-"+randomID(t)
		rec := create(t, "", 0)
		n := now()
		if err := st.Update(ctx(t), rec.ID, sessionkit.Delta{UserID: &from, LastSeen: n, ExpiresAt: n.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if list, _ := idx.ListByUser(ctx(t), from); !slices.Equal(ids(list), []string{rec.ID}) {
			t.Fatalf("anonymous session linked to a user is not listed: %v", ids(list))
		}
		if err := st.Update(ctx(t), rec.ID, sessionkit.Delta{UserID: &to, LastSeen: n, ExpiresAt: n.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if list, _ := idx.ListByUser(ctx(t), from); len(list) != 0 {
			t.Fatalf("old user still lists the session: %v", ids(list))
		}
		if list, _ := idx.ListByUser(ctx(t), to); !slices.Equal(ids(list), []string{rec.ID}) {
			t.Fatalf("new user does not list the session: %v", ids(list))
		}
		anonymous := ""
		if err := st.Update(ctx(t), rec.ID, sessionkit.Delta{UserID: &anonymous, LastSeen: n, ExpiresAt: n.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if list, _ := idx.ListByUser(ctx(t), to); len(list) != 0 {
			t.Fatalf("a session unlinked from its user is still listed: %v", ids(list))
		}
	})

	t.Run("Bounded", func(t *testing.T) {
		// Sessions that come and go leave nothing behind in the listing.
		user := "user-" + randomID(t)
		for range 50 {
			rec := create(t, user, 0)
			if err := st.Delete(ctx(t), rec.ID); err != nil {
				t.Fatal(err)
			}
		}
		keep := create(t, user, 0)
		list, _ := idx.ListByUser(ctx(t), user)
		if !slices.Equal(ids(list), []string{keep.ID}) {
			t.Fatalf("ListByUser after churn = %d entries; want 1", len(list))
		}
	})
}

func runIterator(t *testing.T, st sessionkit.Store) {
	it := st.(sessionkit.Iterator)
	want := map[string]bool{}
	for range 25 {
		rec := newRecord(t, "")
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		want[rec.ID] = true
	}
	dead := newRecord(t, "")
	if err := st.Create(ctx(t), dead); err != nil {
		t.Fatal(err)
	}
	past := now().Add(-time.Second)
	if err := st.Touch(ctx(t), dead.ID, past, past); err != nil {
		t.Fatal(err)
	}
	seen := iterateAll(t, it, 7)
	for id := range want {
		if seen[id] == 0 {
			t.Fatalf("iteration missed session %s", id)
		}
	}
	if seen[dead.ID] != 0 {
		t.Fatal("iteration returned an expired session")
	}
	if _, _, err := it.Iterate(ctx(t), "not-a-cursor\x00", 7); err == nil {
		t.Fatal("Iterate accepted a malformed cursor")
	}
}

// iterateAll pages through every live session of it, limit at a time, and
// returns how many times it saw each ID.
func iterateAll(t *testing.T, it sessionkit.Iterator, limit int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("iteration does not end")
		}
		page, next, err := it.Iterate(ctx(t), cursor, limit)
		if err != nil {
			t.Fatalf("Iterate: %v", err)
		}
		if len(page) > limit {
			t.Fatalf("Iterate returned a page of %d sessions; want at most the limit, %d", len(page), limit)
		}
		for _, info := range page {
			seen[info.ID]++
		}
		if next == "" {
			return seen
		}
		cursor = next
	}
}
