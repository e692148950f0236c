package sessionctl

import (
	"github.com/schollz/progressbar/v3"
)

// progressBar counts the records a long operation has handled, on the
// terminal only.
type progressBar struct {
	bar *progressbar.ProgressBar // nil when Stderr is not a terminal
}

// progress starts a counter labelled label on Stderr when Stderr is a
// terminal, and a silent one otherwise. The total is unknown: stores do
// not count their sessions cheaply.
func (c *cmd) progress(label string) *progressBar {
	if !c.env.Progress {
		return &progressBar{}
	}
	return &progressBar{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(c.env.Stderr),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("sessions"),
		progressbar.OptionThrottle(100_000_000), // 100ms
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p *progressBar) add(n int) {
	if p.bar != nil {
		p.bar.Add(n)
	}
}

// done clears the counter; later calls do nothing.
func (p *progressBar) done() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}
