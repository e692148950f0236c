// Package redissuite holds the tests shared by the Redis stores' test
// modules (redisstore/redistest, on go-redis, and rueidisstore/rueidistest,
// on rueidis), which differ only in the client: RunFailover kills a master
// of a Redis Cluster with replicas under load and measures the recovery
// through the manager's middleware; RunExpress checks the connect-redis /
// express-session format against the data Express writes; RunLimit
// checks the session limit beyond the conformance suite (a LinkUser stopped
// between its steps, links during listings). It is a
// test-only module: it inspects Redis with testserver.RedisDo and needs no
// Redis client.
package redissuite

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/internal/testserver"
)

// Bounds of RunFailover. Redis promotes the replica about nodeTimeout plus one
// second after the kill; the store must serve every session again within
// RecoveryBound of the promotion.
const (
	nodeTimeout       = 2 * time.Second
	RecoveryBound     = 10 * time.Second
	failoverWorkers   = 8 // concurrent clients per store format
	sessionsPerWorker = 6
	requestTimeout    = 2 * time.Second // each request's context deadline, as a server would set
	requestPace       = 2 * time.Millisecond
)

// Format is one store under test.
type Format struct {
	// Name names the subtest of the format's figures and checks.
	Name string
	// Express selects express-session's token scheme (express.Tokens), for a store in
	// express-session's format.
	Express bool
	// Store is the store, on a Cluster client of its own.
	Store sessionkit.Store
	// Key returns the Redis key of the session with that ID.
	Key func(id string) string
}

// failoverSession is one session under load, owned by one worker.
type failoverSession struct {
	cookie   *http.Cookie
	id       string
	affected bool // on the killed master's slots

	// Written by the owning worker and read by the test, under run.mu.
	lastAck int       // the counter of the last 200 answer
	lastOK  time.Time // when the last request answered 200 was sent
	lost    int       // 200 answers whose counter did not go up
}

// failoverResult is the outcome of one request.
type failoverResult struct {
	start, end time.Time
	code       int
	affected   bool
}

// failoverRun is the load of one store format against the cluster.
type failoverRun struct {
	format   Format
	store    sessionkit.Store
	handler  http.Handler
	sessions [][]*failoverSession // per worker

	mu       sync.Mutex
	results  []failoverResult
	lastFail time.Time
	log      bytes.Buffer // the manager's log of failed requests
}

// Write appends to the run's log.
func (r *failoverRun) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.Write(b)
}

// RunFailover kills the master that owns a third of the slots of a three-master,
// three-replica Redis Cluster (cluster-node-timeout 2 s) while eight
// clients per store format send requests that increment a counter in
// their sessions, through the manager's middleware. formats returns the
// stores under test, each on a client of its own for the cluster whose
// masters it is given, so that none recovers thanks to another. Run
// measures the time from the kill to the replica's promotion, from the
// promotion to the first answer served on the affected slots and to the
// last failed request, counts the failed requests and checks that every
// session is served again within RecoveryBound of the promotion, that
// every failure is a 503 and that no acknowledged increment is lost.
func RunFailover(t *testing.T, formats func(t *testing.T, masters []string) []Format) {
	cluster := testserver.StartRedisClusterWith(t, testserver.RedisClusterOptions{Replicas: 1, NodeTimeout: nodeTimeout})
	victim := cluster.Masters[1]

	var runs []*failoverRun
	for _, f := range formats(t, cluster.Masters) {
		runs = append(runs, newFailoverRun(t, f, victim))
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, r := range runs {
		for _, sessions := range r.sessions {
			wg.Go(func() { r.work(sessions, stop) })
		}
	}
	time.Sleep(time.Second) // steady load before the kill

	killed := time.Now()
	cluster.Kill(victim)
	promoted, promotedAt := cluster.WaitPromoted(victim, 30*time.Second)

	// Keep the load on until every session has been served after the
	// promotion and no request has failed for a second, or until the bound.
	deadline := promotedAt.Add(RecoveryBound + time.Second)
	for time.Now().Before(deadline) && !allRecovered(runs, promotedAt, time.Second) {
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	t.Logf("killed master %s; replica %s promoted %v after the kill", victim, promoted, promotedAt.Sub(killed).Round(time.Millisecond))
	for _, r := range runs {
		t.Run(r.format.Name, func(t *testing.T) { r.check(t, killed, promotedAt) })
	}
}

// newFailoverRun creates the sessions of one format's workers, before the
// kill, and notes which of them live on the victim's slots.
func newFailoverRun(t *testing.T, f Format, victim string) *failoverRun {
	t.Helper()
	st := f.Store
	r := &failoverRun{format: f, store: st}
	cfg := sessionkit.Config{
		Store:  st,
		Cookie: sessionkit.CookieConfig{Insecure: true},
		Logger: slog.New(slog.NewTextHandler(r, nil)),
	}
	if f.Express {
		tokens, err := express.NewTokens([]byte("failover test secret"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Tokens, cfg.Cookie.Name = tokens, express.CookieName
	}
	m, err := sessionkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.handler = m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s := m.Session(req.Context())
		n, _, err := sessionkit.Get[int](s, "n")
		if err == nil {
			err = s.Put("n", n+1)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-N", strconv.Itoa(n+1))
		w.Header().Set("X-ID", s.ID()) // empty until the session is stored
	}))
	affected := 0
	r.sessions = make([][]*failoverSession, failoverWorkers)
	for w := range r.sessions {
		for range sessionsPerWorker {
			s := &failoverSession{}
			for range 2 { // the second request learns the stored session's ID
				if code, _ := r.send(s); code != http.StatusOK || s.cookie == nil {
					t.Fatalf("%s: creating a session: status %d, cookie %v", f.Name, code, s.cookie)
				}
			}
			s.lastAck = 2
			// The victim answers MOVED for a key in another master's slots.
			exists, err := testserver.RedisDo(victim, "EXISTS", f.Key(s.id))
			if s.id == "" || (err != nil && !strings.HasPrefix(err.Error(), "MOVED ")) {
				t.Fatalf("%s: session %q on the victim: %q, %v", f.Name, s.id, exists, err)
			}
			s.affected = exists == "1"
			if s.affected {
				affected++
			}
			r.sessions[w] = append(r.sessions[w], s)
		}
	}
	if affected == 0 || affected == failoverWorkers*sessionsPerWorker {
		t.Fatalf("%s: %d of %d sessions on the victim's slots; want some, not all", f.Name, affected, failoverWorkers*sessionsPerWorker)
	}
	return r
}

// send sends one request with the session's cookie (none for a new
// session) and returns the status and the counter the handler answered.
func (r *failoverRun) send(s *failoverSession) (int, int) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	if s.cookie != nil {
		req.AddCookie(s.cookie)
	}
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			s.cookie = c
		}
	}
	if id := rec.Header().Get("X-ID"); id != "" {
		s.id = id
	}
	n, _ := strconv.Atoi(rec.Header().Get("X-N"))
	return rec.Code, n
}

// work sends requests on the sessions in turn until stop is closed, at
// most maxRequests.
func (r *failoverRun) work(sessions []*failoverSession, stop <-chan struct{}) {
	const maxRequests = 20000
	for i := range maxRequests {
		select {
		case <-stop:
			return
		case <-time.After(requestPace):
		}
		s := sessions[i%len(sessions)]
		start := time.Now()
		code, n := r.send(s)
		res := failoverResult{start: start, end: time.Now(), code: code, affected: s.affected}
		r.mu.Lock()
		r.results = append(r.results, res)
		if code == http.StatusOK {
			if n <= s.lastAck {
				s.lost++
			}
			s.lastAck = max(s.lastAck, n)
			s.lastOK = start
		} else {
			r.lastFail = res.end
		}
		r.mu.Unlock()
	}
}

// allRecovered reports whether every session of every run has been served
// by a request sent after the promotion and no request has failed for the
// last quiet period.
func allRecovered(runs []*failoverRun, promotedAt time.Time, quiet time.Duration) bool {
	for _, r := range runs {
		r.mu.Lock()
		ok := time.Since(r.lastFail) > quiet
		for _, sessions := range r.sessions {
			for _, s := range sessions {
				ok = ok && s.lastOK.After(promotedAt)
			}
		}
		r.mu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}

// check logs the run's figures and checks the bounds: every session served
// again within RecoveryBound of the promotion, only 503 answers in between,
// and no acknowledged write lost.
func (r *failoverRun) check(t *testing.T, killed, promotedAt time.Time) {
	var (
		firstOK                 time.Time // first 200 on the affected slots after the kill
		lastFail                time.Time
		failAffected, failOther int
		codes                   = make(map[int]int)
		requests                = len(r.results)
	)
	for _, res := range r.results {
		if res.code == http.StatusOK {
			if res.affected && res.start.After(killed) && (firstOK.IsZero() || res.end.Before(firstOK)) {
				firstOK = res.end
			}
			continue
		}
		codes[res.code]++
		lastFail = latest(lastFail, res.end)
		if res.affected {
			failAffected++
		} else {
			failOther++
		}
	}
	lost := 0
	for _, sessions := range r.sessions {
		for _, s := range sessions {
			lost += s.lost
			rec, err := r.store.Load(t.Context(), s.id)
			if err != nil || rec == nil {
				t.Errorf("session %s after the failover: %v, %v", s.id, rec, err)
				continue
			}
			n, err := strconv.Atoi(string(rec.Values["n"]))
			if err != nil || n < s.lastAck {
				t.Errorf("session %s holds counter %q, last acknowledged %d", s.id, rec.Values["n"], s.lastAck)
				lost++
			}
			if !s.lastOK.After(promotedAt) {
				t.Errorf("session %s (on the killed master: %v) not served after the promotion", s.id, s.affected)
			}
		}
	}
	since := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Sub(promotedAt).Round(time.Millisecond).String()
	}
	t.Logf("%d requests; failed: %d on the killed master's slots, %d on others, by status %v", requests, failAffected, failOther, codes)
	t.Logf("after the promotion: first answer on the killed master's slots %s, last failure %s; lost writes %d",
		since(firstOK), since(lastFail), lost)
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost", lost)
	}
	for code := range codes {
		if code != http.StatusServiceUnavailable {
			t.Errorf("%d answers with status %d, want only 503 while Redis is failing over", codes[code], code)
		}
	}
	for line := range strings.Lines(r.log.String()) {
		if strings.Contains(line, "session store failed") && !strings.Contains(line, "status=503") {
			t.Errorf("manager logged: %s", line)
		}
	}
	if lastFail.Sub(promotedAt) > RecoveryBound {
		t.Errorf("requests failed until %s after the promotion, want at most %v", since(lastFail), RecoveryBound)
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
