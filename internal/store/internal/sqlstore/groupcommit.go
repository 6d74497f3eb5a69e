package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// maxGroup is the most transactions one group commit carries.
const maxGroup = 64

// groupCommit runs the transactions that arrive while the database's one
// writer is busy together, in one database transaction, each in a
// savepoint of its own: on SQLite, whose single writer connection
// serialises every write, each small transaction otherwise pays its own
// BEGIN, COMMIT and WAL append of the pages it touched (under a load of
// concurrent submitJobs, the commits were a tenth of the server's CPU).
//
// A transaction that fails rolls back to its savepoint and gets its error;
// the others of the group go on. Every transaction of a group is answered
// only once the group has committed, with the commit's error if it failed,
// so a nil error still means "written". A transaction's context is checked
// before it starts and once it has written (ended by then, it is rolled
// back alone); a context that ends during one of its statements interrupts
// the connection, which on SQLite rolls back the whole group: every
// transaction of the group then gets an error, and nothing of it is
// written.
type groupCommit struct {
	db *sql.DB

	mu      sync.Mutex
	queue   []*groupTx
	leading bool // some goroutine is running groups
}

type groupTx struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	err  error
	done chan struct{}
}

func newGroupCommit(db *sql.DB) *groupCommit { return &groupCommit{db: db} }

// do runs fn in a transaction, alone or with others.
func (g *groupCommit) do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &groupTx{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, t)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead {
		g.lead(t)
	}
	<-t.done
	return t.err
}

// lead runs groups until the one holding own is done, then hands what is
// queued to a goroutine of its own, so a leader's caller waits for no more
// than its own group. With own nil it runs until nothing is queued.
func (g *groupCommit) lead(own *groupTx) {
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		if n == 0 {
			g.leading = false
			g.mu.Unlock()
			return
		}
		group := g.queue[:n:n]
		g.queue = g.queue[n:]
		if len(g.queue) == 0 {
			g.queue = nil
		}
		g.mu.Unlock()
		g.run(group)
		if own == nil {
			continue // a hand-off: run until nothing is queued
		}
		select {
		case <-own.done:
			g.mu.Lock()
			more := len(g.queue) > 0
			if !more {
				g.leading = false
			}
			g.mu.Unlock()
			if more {
				go g.lead(nil)
			}
			return
		default:
		}
	}
}

// call runs the transaction's function, a panic in it becoming its error
// (the other transactions of the group, and the next groups, go on).
func (t *groupTx) call(tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("transaction panicked: %v", p)
		}
	}()
	if err := t.fn(tx); err != nil {
		return err
	}
	// A context that ended before the commit fails the transaction, as
	// database/sql's commit of a transaction of its own would.
	return t.ctx.Err()
}

// run writes one group and answers each of its transactions.
func (g *groupCommit) run(group []*groupTx) {
	answer := func(err error) {
		for _, t := range group {
			if t.err == nil {
				t.err = err
			}
			close(t.done)
		}
	}
	var live []*groupTx
	for _, t := range group {
		if err := t.ctx.Err(); err != nil {
			t.err = err
			close(t.done)
			continue
		}
		live = append(live, t)
	}
	group = live
	if len(group) == 0 {
		return
	}
	ctx := context.WithoutCancel(group[0].ctx)
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		answer(fmt.Errorf("begin: %w", err))
		return
	}
	if len(group) == 1 {
		// Alone: no savepoint needed.
		t := group[0]
		if t.err = t.call(tx); t.err != nil {
			_ = tx.Rollback()
			answer(nil)
			return
		}
		if err := tx.Commit(); err != nil {
			answer(fmt.Errorf("commit: %w", err))
			return
		}
		answer(nil)
		return
	}
	for _, t := range group {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT grouped`); err != nil {
			_ = tx.Rollback()
			answer(fmt.Errorf("savepoint: %w", err))
			return
		}
		t.err = t.call(tx)
		if t.err == nil {
			_, err = tx.ExecContext(ctx, `RELEASE grouped`)
		} else {
			_, err = tx.ExecContext(ctx, `ROLLBACK TO grouped`)
			if err == nil {
				_, err = tx.ExecContext(ctx, `RELEASE grouped`)
			}
		}
		if err != nil {
			// The transaction is no longer sound (the failure rolled it
			// back whole): nothing of the group is written.
			_ = tx.Rollback()
			answer(fmt.Errorf("group commit: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		answer(fmt.Errorf("commit: %w", err))
		return
	}
	answer(nil)
}
