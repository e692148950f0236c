package sessiontest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// userIndexChecks are the behaviours of sessionkit.UserIndex, run as
// subtests of UserIndex for stores that implement it.
var userIndexChecks = []capabilityCheck[sessionkit.UserIndex]{
	{"ListAndRevoke", checkUserListAndRevoke},
	{"UnknownUser", checkUserUnknownUser},
	{"EmptyUserID", checkUserEmptyUserID},
	{"Expired", checkUserExpired},
	{"UserChangeMovesIndex", checkUserUserChangeMovesIndex},
	{"Bounded", checkUserBounded},
	{"CanceledContext", checkUserCanceledContext},
	{"AfterRenew", checkUserAfterRenew},
}

// checkUserListAndRevoke checks that ListByUser lists a user's sessions
// oldest first with their metadata, and that Delete and DeleteByUser (with
// and without exceptions) end exactly the sessions they name.
func checkUserListAndRevoke(t *testing.T, st sessionkit.Store, idx sessionkit.UserIndex) {
	user, other := "user-"+randomID(t), "user-"+randomID(t)
	a := createAged(t, st, user, 3*time.Hour)
	b := createAged(t, st, user, 2*time.Hour)
	c := createAged(t, st, user, time.Hour)
	o := createAged(t, st, other, 0)
	createAged(t, st, "", 0) // anonymous

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
}

// checkUserUnknownUser checks that a user without sessions lists and deletes
// nothing.
func checkUserUnknownUser(t *testing.T, st sessionkit.Store, idx sessionkit.UserIndex) {
	list, err := idx.ListByUser(ctx(t), "nobody-"+randomID(t))
	if err != nil || len(list) != 0 {
		t.Fatalf("ListByUser(unknown) = %v, %v", list, err)
	}
	if n, err := idx.DeleteByUser(ctx(t), "nobody-"+randomID(t)); err != nil || n != 0 {
		t.Fatalf("DeleteByUser(unknown) = %d, %v", n, err)
	}
}

// checkUserEmptyUserID checks that the empty user ID, which anonymous
// sessions have, lists and deletes nothing.
func checkUserEmptyUserID(t *testing.T, st sessionkit.Store, idx sessionkit.UserIndex) {
	// Anonymous sessions belong to no user: the empty user ID lists
	// and deletes nothing.
	anon := createAged(t, st, "", 0)
	if list, err := idx.ListByUser(ctx(t), ""); err != nil || len(list) != 0 {
		t.Fatalf(`ListByUser("") = %v, %v; want no sessions`, ids(list), err)
	}
	if n, err := idx.DeleteByUser(ctx(t), ""); err != nil || n != 0 {
		t.Fatalf(`DeleteByUser("") = %d, %v; want 0, nil`, n, err)
	}
	if got, _ := st.Load(ctx(t), anon.ID); got == nil {
		t.Fatal(`DeleteByUser("") deleted an anonymous session`)
	}
}

// checkUserExpired checks that a session whose ExpiresAt has passed is
// listed with that ExpiresAt, for the manager to filter, or not at all, and
// that DeleteByUser ends it with the others.
func checkUserExpired(t *testing.T, st sessionkit.Store, idx sessionkit.UserIndex) {
	user := "user-" + randomID(t)
	live := createAged(t, st, user, 0)
	dead := createAged(t, st, user, time.Minute)
	past := now().Add(-time.Second)
	if err := st.Touch(ctx(t), dead.ID, past, past); err != nil {
		t.Fatal(err)
	}
	list, err := idx.ListByUser(ctx(t), user)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case slices.Equal(ids(list), []string{live.ID}):
	case slices.Equal(ids(list), []string{dead.ID, live.ID}):
		if !list[0].ExpiresAt.Equal(past) {
			t.Fatalf("ListByUser gave the expired session ExpiresAt %v; want the one written, %v, for the manager to judge", list[0].ExpiresAt, past)
		}
	default:
		t.Fatalf("ListByUser = %v; want the live session, and the expired one or not", ids(list))
	}
	if n, err := idx.DeleteByUser(ctx(t), user); err != nil || n < 1 || n > 2 {
		t.Fatalf("DeleteByUser = %d, %v; want 1 (or 2, counting the expired session)", n, err)
	}
	if list, _ := idx.ListByUser(ctx(t), user); len(list) != 0 {
		t.Fatalf("sessions left after DeleteByUser: %v", ids(list))
	}
	if got, _ := st.Load(ctx(t), live.ID); got != nil {
		t.Fatal("DeleteByUser left the live session loadable")
	}
}

// checkUserUserChangeMovesIndex checks that linking, moving and unlinking a
// session's user moves it in the index.
func checkUserUserChangeMovesIndex(t *testing.T, st sessionkit.Store, idx sessionkit.UserIndex) {
	from, to := "user-"+randomID(t), "user-"+randomID(t)
	rec := createAged(t, st, "", 0)
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
}

// checkUserBounded checks that sessions that come and go leave nothing
// behind in the listing.
func checkUserBounded(t *testing.T, st sessionkit.Store, idx sessionkit.UserIndex) {
	// Sessions that come and go leave nothing behind in the listing.
	user := "user-" + randomID(t)
	for range 50 {
		rec := createAged(t, st, user, 0)
		if err := st.Delete(ctx(t), rec.ID); err != nil {
			t.Fatal(err)
		}
	}
	keep := createAged(t, st, user, 0)
	list, _ := idx.ListByUser(ctx(t), user)
	if !slices.Equal(ids(list), []string{keep.ID}) {
		t.Fatalf("ListByUser after churn = %d entries; want 1", len(list))
	}
}

// checkUserCanceledContext checks that ListByUser and DeleteByUser called
// with a context that has ended fail with the context's error, not
// ErrUnavailable, and that DeleteByUser then deletes nothing.
func checkUserCanceledContext(t *testing.T, st sessionkit.Store, idx sessionkit.UserIndex) {
	user := "user-" + randomID(t)
	rec := createAged(t, st, user, 0)
	for _, c := range endedContexts(t) {
		list, err := idx.ListByUser(c.ctx, user)
		wantDone(t, "ListByUser", err, c.err)
		if len(list) != 0 {
			t.Error("ListByUser with an ended context returned sessions along with its error")
		}
		_, err = idx.DeleteByUser(c.ctx, user)
		wantDone(t, "DeleteByUser", err, c.err)
	}
	if got, _ := st.Load(ctx(t), rec.ID); got == nil {
		t.Fatal("DeleteByUser with an ended context deleted the session")
	}
}

// checkUserAfterRenew checks that a renewal moves the user's listing to the
// new store key. Without Config.RenewGrace the index holds only the new
// key. With it, Manager.UserSessions lists only the new session while the
// old token still reads (the same device, not a second one), also when the
// session's lifetime ends inside the grace.
func checkUserAfterRenew(t *testing.T, st sessionkit.Store, idx sessionkit.UserIndex) {
	const lifetime = time.Minute
	for _, grace := range []time.Duration{0, 10 * time.Second} {
		clock := NewClock()
		m, err := sessionkit.New(sessionkit.Config{Store: st, Now: clock.Now, Lifetime: lifetime, RenewGrace: grace})
		if err != nil {
			t.Fatal(err)
		}
		user := "user-" + randomID(t)
		// renewAt logs user in, renews the session age later, and checks
		// the listing.
		renewAt := func(age time.Duration) {
			t.Helper()
			var login *sessionkit.Session
			old := request(m, "", func(s *sessionkit.Session) {
				if err := errors.Join(s.SetUserID(user), s.Put("name", "gopher")); err != nil {
					t.Fatal(err)
				}
				login = s
			})
			oldID, newID := login.ID(), ""
			clock.Advance(age)
			request(m, old, func(s *sessionkit.Session) {
				if err := s.Renew(true); err != nil {
					t.Fatal(err)
				}
				newID = s.ID()
			})
			if oldID == "" || newID == "" || newID == oldID {
				t.Fatalf("store keys before and after Renew: %q, %q", oldID, newID)
			}
			list, err := m.UserSessions(ctx(t), user)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{newID}; !slices.Equal(ids(list), want) {
				t.Fatalf("grace %v, renewed %v after login: UserSessions = %v; want %v, the renewed session only (old %s)",
					grace, age, ids(list), want, oldID)
			}
			raw, err := idx.ListByUser(ctx(t), user)
			if err != nil {
				t.Fatal(err)
			}
			if grace == 0 && !slices.Equal(ids(raw), []string{newID}) {
				t.Fatalf("ListByUser after Renew = %v; want only the new key %s", ids(raw), newID)
			}
			if grace > 0 && age < lifetime-grace {
				request(m, old, func(s *sessionkit.Session) {
					if v, _, _ := sessionkit.Get[string](s, "name"); v != "gopher" {
						t.Error("the old token stopped reading inside the grace window")
					}
				})
			}
			if _, err := m.RevokeUserSessions(ctx(t), user); err != nil {
				t.Fatal(err)
			}
		}
		renewAt(time.Second)
		if grace > 0 {
			renewAt(lifetime - grace/2) // the lifetime ends inside the grace
		}
	}
}

// ids returns the IDs of list, in order.
func ids(list []sessionkit.SessionInfo) []string {
	var out []string
	for _, i := range list {
		out = append(out, i.ID)
	}
	return out
}

// createAged creates a live session of user in st, created age ago.
func createAged(t *testing.T, st sessionkit.Store, user string, age time.Duration) *sessionkit.Record {
	t.Helper()
	rec := newRecord(t, user)
	rec.CreatedAt = rec.CreatedAt.Add(-age)
	if err := st.Create(ctx(t), rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// iteratorChecks are the behaviours of sessionkit.Iterator, run as
// subtests of Iterator for stores that implement it.
var iteratorChecks = []capabilityCheck[sessionkit.Iterator]{
	{"AllSessions", checkIterateAll},
	{"MalformedCursor", checkIterateMalformedCursor},
	{"CanceledContext", checkIterateCanceledContext},
}

// checkIterateAll checks that paging through the store, a few sessions at
// a time, sees every session, and a session whose ExpiresAt has passed
// with that ExpiresAt, for the manager to filter, or not at all.
func checkIterateAll(t *testing.T, st sessionkit.Store, it sessionkit.Iterator) {
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
		if len(seen[id]) == 0 {
			t.Fatalf("iteration missed session %s", id)
		}
	}
	for _, info := range seen[dead.ID] {
		if !info.ExpiresAt.Equal(past) {
			t.Fatalf("iteration gave an expired session ExpiresAt %v; want the one written, %v, for the manager to judge", info.ExpiresAt, past)
		}
	}
}

// checkIterateMalformedCursor checks that Iterate rejects a cursor it never
// returned.
func checkIterateMalformedCursor(t *testing.T, st sessionkit.Store, it sessionkit.Iterator) {
	if _, _, err := it.Iterate(ctx(t), "not-a-cursor\x00", 7); err == nil {
		t.Fatal("Iterate accepted a malformed cursor")
	}
}

// checkIterateCanceledContext checks that Iterate called with a context
// that has ended fails with the context's error, not ErrUnavailable.
func checkIterateCanceledContext(t *testing.T, st sessionkit.Store, it sessionkit.Iterator) {
	if err := st.Create(ctx(t), newRecord(t, "")); err != nil {
		t.Fatal(err)
	}
	for _, c := range endedContexts(t) {
		page, _, err := it.Iterate(c.ctx, "", 7)
		wantDone(t, "Iterate", err, c.err)
		if len(page) != 0 {
			t.Error("Iterate with an ended context returned sessions along with its error")
		}
	}
}

// iterateAll pages through every session of it, limit at a time, and
// returns what it saw of each ID, once per time it saw it.
func iterateAll(t *testing.T, it sessionkit.Iterator, limit int) map[string][]sessionkit.SessionInfo {
	t.Helper()
	seen := map[string][]sessionkit.SessionInfo{}
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
			seen[info.ID] = append(seen[info.ID], info)
		}
		if next == "" {
			return seen
		}
		cursor = next
	}
}
