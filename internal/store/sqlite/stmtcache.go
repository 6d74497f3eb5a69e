package sqlite

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
)

// stmtCacheSize is how many prepared statements each connection keeps.
// The store and River issue a few dozen distinct statement texts; the
// bound only matters for text built per call.
const stmtCacheSize = 256

// A query on database/sql without a prepared statement makes the driver
// parse and plan the SQL text on every call, and under a load of small
// writes (a submitJob is a dozen statements) SQLite's parser was the largest
// item of the server's CPU profile. cachingConnector keeps each
// connection's statements prepared, keyed by their text, and runs every
// Exec and Query of that text on the prepared one: the store's own
// statements and River's alike, with no change to either.
type cachingConnector struct {
	c driver.Connector
}

func newCachingConnector(dsn string) (driver.Connector, error) {
	c, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{c: c}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(innerConn)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("sqlite driver connection %T lacks the context methods", conn)
	}
	return &cachingConn{innerConn: inner, byText: map[string]*list.Element{}, lru: list.New()}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.c.Driver() }

// innerConn is what the driver's connection provides and cachingConn
// passes on.
type innerConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type innerStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// cachedStmt is one prepared statement; busy while rows read from it are
// open (a second query of the same text meanwhile runs unprepared, so the
// first one's cursor is not reset under it).
type cachedStmt struct {
	text string
	s    innerStmt
	busy bool
}

// cachingConn is one connection with its statements. database/sql uses a
// connection from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	innerConn
	byText map[string]*list.Element // of *cachedStmt
	lru    *list.List               // most recently used first
}

var (
	_ innerConn                             = (*cachingConn)(nil)
	_ driver.RowsColumnTypeScanType         = (*cachedRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*cachedRows)(nil)
	_ driver.RowsColumnTypeLength           = (*cachedRows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*cachedRows)(nil)
)

// stmt returns the prepared statement of text, preparing it on first use,
// or nil when it is busy (the caller then runs the text unprepared).
func (c *cachingConn) stmt(ctx context.Context, text string) (*cachedStmt, error) {
	if e, ok := c.byText[text]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return cs, nil
	}
	s, err := c.innerConn.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	is, ok := s.(innerStmt)
	if !ok {
		_ = s.Close()
		return nil, nil
	}
	cs := &cachedStmt{text: text, s: is}
	c.byText[text] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Back().Value.(*cachedStmt)
		if old.busy {
			break // closed once its rows are, see cachedRows.Close
		}
		c.evict(c.lru.Back())
	}
	return cs, nil
}

func (c *cachingConn) evict(e *list.Element) {
	cs := e.Value.(*cachedStmt)
	c.lru.Remove(e)
	delete(c.byText, cs.text)
	_ = cs.s.Close()
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.innerConn.ExecContext(ctx, query, args)
	}
	return cs.s.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.innerConn.QueryContext(ctx, query, args)
	}
	r, err := cs.s.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	ir, ok := r.(innerRows)
	if !ok {
		_ = r.Close()
		return nil, fmt.Errorf("sqlite driver rows %T lack the column type methods", r)
	}
	cs.busy = true
	return &cachedRows{innerRows: ir, c: c, cs: cs}, nil
}

// Close closes the prepared statements, then the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		errs = append(errs, e.Value.(*cachedStmt).s.Close())
	}
	c.lru.Init()
	clear(c.byText)
	return errors.Join(append(errs, c.innerConn.Close())...)
}

type innerRows interface {
	driver.Rows
	driver.RowsColumnTypeScanType
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypePrecisionScale
}

// cachedRows frees its statement for the next query when closed.
type cachedRows struct {
	innerRows
	c  *cachingConn
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.innerRows.Close()
	if r.cs != nil {
		r.cs.busy = false
		// Evicted while busy: the cache is over its size by this one.
		if r.c.lru.Len() > stmtCacheSize {
			if e := r.c.lru.Back(); e != nil && !e.Value.(*cachedStmt).busy {
				r.c.evict(e)
			}
		}
		r.cs = nil
	}
	return err
}
