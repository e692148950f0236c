package sessionctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sessionkit/sessionkit"
)

// Line is one line of the JSON Lines that export writes and import reads:
// a complete record. Values are the manager's encoded bytes (base64 in
// JSON), copied as they are.
type Line struct {
	Key            string            `json:"key"`
	UserID         string            `json:"user_id,omitempty"`
	Values         map[string][]byte `json:"values"`
	CreatedAt      time.Time         `json:"created_at"`
	LastSeen       time.Time         `json:"last_seen"`
	ExpiresAt      time.Time         `json:"expires_at"`
	AbsoluteExpiry time.Time         `json:"absolute_expiry"`
	Persistent     bool              `json:"persistent"`
	Meta           map[string]string `json:"meta,omitempty"`
}

// LineOf returns the export line of r.
func LineOf(r *sessionkit.Record) Line {
	return Line{
		Key: r.ID, UserID: r.UserID, Values: r.Values, CreatedAt: r.CreatedAt, LastSeen: r.LastSeen,
		ExpiresAt: r.ExpiresAt, AbsoluteExpiry: r.AbsoluteExpiry, Persistent: r.Persistent, Meta: r.Meta,
	}
}

// Record returns the record l describes.
func (l *Line) Record() *sessionkit.Record {
	return &sessionkit.Record{
		ID: l.Key, UserID: l.UserID, Values: l.Values, CreatedAt: l.CreatedAt, LastSeen: l.LastSeen,
		ExpiresAt: l.ExpiresAt, AbsoluteExpiry: l.AbsoluteExpiry, Persistent: l.Persistent, Meta: l.Meta,
	}
}

// Transfer is the summary of export and import.
type Transfer struct {
	Store string `json:"store"`
	// Exported (export) and Imported (import) count the records written.
	Exported int `json:"exported,omitempty"`
	Imported int `json:"imported,omitempty"`
	// Existing counts the records import skipped because the destination
	// already has their key.
	Existing int `json:"existing,omitempty"`
	// Expired counts the records skipped because they had expired.
	Expired int `json:"expired"`
	// Vanished counts the sessions export listed but that were deleted
	// before it could read them.
	Vanished int `json:"vanished,omitempty"`
}

// RecordIterator is implemented by stores that read every record, values
// included, in one pass. Export uses it when the store has it, instead of
// listing the sessions with sessionkit.Iterator and loading each one:
// FerretDB v1 answers each of those loads with a scan of the whole
// collection. mongostore.Store implements it.
type RecordIterator interface {
	// IterateRecords calls yield with every stored record, whatever its
	// expiry, each as Load would return it, until yield returns false.
	IterateRecords(ctx context.Context, yield func(*sessionkit.Record) bool) error
}

// BatchCreator is implemented by stores that create many records in one
// call. Import uses it when the store has it, instead of a Create per
// record. mongostore.Store implements it.
type BatchCreator interface {
	// CreateMany creates each record of recs as Create would, and returns
	// the indexes in recs of those it did not create because a live
	// session has their key (where Create returns sessionkit.ErrExists).
	CreateMany(ctx context.Context, recs []*sessionkit.Record) (existing []int, err error)
}

// parallel is how many store calls export and import keep in flight.
const parallel = 16

func runExport(ctx context.Context, c *cmd) error {
	outPath := c.fs.String("out", "", "write to `FILE` instead of standard output")
	if err := c.parse(); err != nil {
		return err
	}
	if len(c.args) > 0 {
		return exitf(ExitUsage, "export takes no arguments")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	ri, streams := s.(RecordIterator)
	var it sessionkit.Iterator
	if !streams {
		if it, err = c.iterator(s, "export"); err != nil {
			return err
		}
	}
	dst, summary := c.env.Stdout, c.env.Stderr
	if *outPath != "" {
		f, err := os.OpenFile(*outPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return exitf(ExitFailed, "export: %v", err)
		}
		defer f.Close()
		dst, summary = f, c.env.Stdout
	}
	w := bufio.NewWriterSize(dst, 1<<16)
	enc := json.NewEncoder(w)
	sum := Transfer{Store: c.backend.Kind}
	now := time.Now()
	emit := func(r *sessionkit.Record) error {
		if !r.ExpiresAt.After(now) {
			sum.Expired++
			return nil
		}
		if err := enc.Encode(LineOf(r)); err != nil {
			return exitf(ExitFailed, "export: %v", err)
		}
		sum.Exported++
		return nil
	}
	if streams {
		err = c.eachRecord(ctx, ri, "export", emit)
	} else {
		err = c.exportByLoad(ctx, s, it, now, &sum, emit)
	}
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return exitf(ExitFailed, "export: %v", err)
	}
	if f, ok := dst.(*os.File); ok && *outPath != "" {
		if err := f.Close(); err != nil {
			return exitf(ExitFailed, "export: %v", err)
		}
	}
	return c.writeSummary(summary, sum, fmt.Sprintf("exported %d sessions (skipped %d expired, %d deleted meanwhile)", sum.Exported, sum.Expired, sum.Vanished))
}

// exportByLoad lists the sessions of s through it page by page and loads
// each one live at now, for stores without RecordIterator. It counts in
// sum the sessions listed as expired and those deleted before they could
// be loaded, and passes the others to emit.
func (c *cmd) exportByLoad(ctx context.Context, s sessionkit.Store, it sessionkit.Iterator, now time.Time, sum *Transfer, emit func(*sessionkit.Record) error) error {
	return c.each(ctx, it, "export", func(page []sessionkit.SessionInfo) error {
		recs := make([]*sessionkit.Record, len(page))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(parallel)
		for i, si := range page {
			if !si.ExpiresAt.After(now) {
				continue
			}
			g.Go(func() error {
				r, err := s.Load(gctx, si.ID)
				recs[i] = r
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return storeError("export", err)
		}
		for i, r := range recs {
			switch {
			case !page[i].ExpiresAt.After(now):
				sum.Expired++
			case r == nil:
				sum.Vanished++
			default:
				if err := emit(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// writeSummary prints the summary of a transfer, as JSON with --json.
func (c *cmd) writeSummary(w io.Writer, sum Transfer, text string) error {
	if c.json {
		return json.NewEncoder(w).Encode(sum)
	}
	_, err := fmt.Fprintln(w, text)
	return err
}

// maxLine is the longest JSON line import accepts.
const maxLine = 16 << 20

func runImport(ctx context.Context, c *cmd) error {
	inPath := c.fs.String("in", "", "read from `FILE` instead of standard input")
	if err := c.parse(); err != nil {
		return err
	}
	if len(c.args) > 0 {
		return exitf(ExitUsage, "import takes no arguments")
	}
	src := c.env.Stdin
	if *inPath != "" {
		f, err := os.Open(*inPath)
		if err != nil {
			return exitf(ExitFailed, "import: %v", err)
		}
		defer f.Close()
		src = f
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	sum := Transfer{Store: c.backend.Kind}
	bar := c.progress("import")
	defer bar.done()
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 1<<16), maxLine)
	lineNo := 0
	batch := make([]*sessionkit.Record, 0, pageSize)
	flush := func() error {
		created, existing, err := createAll(ctx, s, batch)
		sum.Imported += created
		sum.Existing += existing
		bar.add(len(batch))
		batch = batch[:0]
		if err != nil {
			return storeError(fmt.Sprintf("import (before line %d, %d imported)", lineNo+1, sum.Imported), err)
		}
		return nil
	}
	now := time.Now()
	for sc.Scan() {
		lineNo++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return exitf(ExitFailed, "import: line %d: %v (%d imported before it)", lineNo, err, sum.Imported)
		}
		if l.Key == "" {
			return exitf(ExitFailed, "import: line %d: no key (%d imported before it)", lineNo, sum.Imported)
		}
		if !l.ExpiresAt.After(now) {
			sum.Expired++
			continue
		}
		batch = append(batch, l.Record())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return exitf(ExitFailed, "import: after line %d: %v (%d imported)", lineNo, err, sum.Imported)
	}
	if err := flush(); err != nil {
		return err
	}
	bar.done()
	return c.writeSummary(c.env.Stdout, sum, fmt.Sprintf("imported %d sessions (skipped %d that already existed, %d expired)", sum.Imported, sum.Existing, sum.Expired))
}

// createAll creates the records of batch in s, which skips those whose
// key a live session has, and returns how many it created and skipped.
// On a failure the counts are those of the records known to be done.
func createAll(ctx context.Context, s sessionkit.Store, batch []*sessionkit.Record) (created, existing int, err error) {
	if bc, ok := s.(BatchCreator); ok {
		taken, err := bc.CreateMany(ctx, batch)
		if err != nil {
			return 0, 0, err
		}
		return len(batch) - len(taken), len(taken), nil
	}
	done := make([]bool, len(batch))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i, r := range batch {
		g.Go(func() error {
			err := s.Create(gctx, r)
			if errors.Is(err, sessionkit.ErrExists) {
				return nil
			}
			done[i] = err == nil
			return err
		})
	}
	err = g.Wait()
	for _, ok := range done {
		if ok {
			created++
		} else if err == nil {
			existing++
		}
	}
	return created, existing, err
}
