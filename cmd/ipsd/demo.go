package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ipsexport/ipsd/internal/app"
	"github.com/ipsexport/ipsd/internal/blob/blobopen"
	"github.com/ipsexport/ipsd/internal/store"
)

// The demo login printed by `make run`; the seeding lives in internal/app
// (SeedDemo), where the SoapUI replay test seeds the same data.
const (
	demoCompany  = app.DemoCompany
	demoEmail    = app.DemoEmail
	demoPassword = app.DemoPassword
)

func cmdDemo(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	ifNew := fs.Bool("if-new", false, "do nothing when the demo company exists")
	storage := addStorageFlags(fs)
	if _, err := fs.parse(args, false); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef(c.cmd.path, "demo takes no arguments, got %q", fs.Arg(0))
	}
	where, err := storage.config(c.cmd.path, c.g.dataDir)
	if err != nil {
		return err
	}
	stdout := c.stdout
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if co, err := st.CompanyByName(ctx, demoCompany); err == nil {
		if !*ifNew {
			return fmt.Errorf("company %q exists already (%s)", demoCompany, co.Handle)
		}
		printDemoLogin(stdout, co.Handle)
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	bl, err := blobopen.Open(ctx, where)
	if err != nil {
		return err
	}
	co, err := app.SeedDemo(ctx, st, bl, func(a store.Asset) {
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", a.Handle, a.Name, a.Type)
	})
	if err != nil {
		return err
	}
	printDemoLogin(stdout, co.Handle)
	return nil
}

func printDemoLogin(w io.Writer, companyHandle string) {
	fmt.Fprintf(w, "demo login: user %s, password %s, company %q (%s)\n", demoEmail, demoPassword, demoCompany, companyHandle)
}
