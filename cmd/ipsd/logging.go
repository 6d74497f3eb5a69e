package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

// logFlags choose what is logged and how.
type logFlags struct {
	level slog.Level
	json  *bool
}

func addLogFlags(fs *flagSet) *logFlags {
	l := &logFlags{}
	fs.TextVar(&l.level, "log-level", slog.LevelInfo, "least `LEVEL` logged: debug, info, warn or error (River's periodic job counts are debug)")
	l.json = fs.Bool("log-json", false, "log as JSON lines")
	return l
}

func (l *logFlags) logger(w io.Writer) *slog.Logger {
	return newLogger(w, *l.json, l.level)
}

func newLogger(w io.Writer, json bool, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if json {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(demote{h})
}

// demoted are the messages (by suffix, River prefixes its service's name)
// logged one level lower than their source logs them: River's producer
// logs its job counts at info every few seconds a queue is busy, a third
// of all lines, and useful only when debugging the queue.
var demoted = []string{": Producer job counts"}

// demote is a slog.Handler that lowers the demoted messages to debug and
// passes everything else through.
type demote struct{ next slog.Handler }

func (d demote) Enabled(ctx context.Context, l slog.Level) bool {
	// A demoted record asks at its original level: let it through here
	// and decide in Handle, once its message is known.
	return d.next.Enabled(ctx, l)
}

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug {
		for _, suffix := range demoted {
			if strings.HasSuffix(r.Message, suffix) {
				if !d.next.Enabled(ctx, slog.LevelDebug) {
					return nil
				}
				r.Level = slog.LevelDebug
				break
			}
		}
	}
	return d.next.Handle(ctx, r)
}

func (d demote) WithAttrs(as []slog.Attr) slog.Handler { return demote{d.next.WithAttrs(as)} }
func (d demote) WithGroup(name string) slog.Handler    { return demote{d.next.WithGroup(name)} }
