package soap_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipsexport/ipsd/internal/ipsapi"
	"github.com/ipsexport/ipsd/internal/soap"
)

const benchNS = "http://www.scene7.com/IpsApi/xsd/2014-04-03"

// submitEnvelope is a submitJob with an exportJob of n handles, as the
// AEM export client and generated stubs send it.
func submitEnvelope(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>`)
	b.WriteString(`<authHeader xmlns="http://www.scene7.com/IpsApi/xsd"><user>bench@example.com</user><password>pw</password><appName>bench</appName><appVersion>1</appVersion></authHeader>`)
	b.WriteString(`</soapenv:Header><soapenv:Body><submitJobParam xmlns="` + benchNS + `"><companyHandle>c|1</companyHandle><jobName>nightly</jobName><exportJob><assetHandleArray>`)
	for i := range n {
		fmt.Fprintf(&b, "<items>a|1|%d</items>", 100000+i)
	}
	b.WriteString(`</assetHandleArray><fmt>convert</fmt><is_modifier>wid=800&amp;fmt=jpeg&amp;qlt=80</is_modifier><emailSetting>None</emailSetting></exportJob></submitJobParam></soapenv:Body></soapenv:Envelope>`)
	return []byte(b.String())
}

// BenchmarkParseSubmitJob reads a 1,000-handle submitJob the way the
// handler does: Parse the envelope, then Decode the body into the
// generated type.
func BenchmarkParseSubmitJob(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		body := submitEnvelope(n)
		b.Run(fmt.Sprintf("handles=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req, err := soap.Parse(body, soap.DefaultLimits())
				if err != nil {
					b.Fatal(err)
				}
				var p ipsapi.SubmitJobParam
				if err := req.Decode(&p); err != nil {
					b.Fatal(err)
				}
				if p.ExportJob == nil || len(p.ExportJob.AssetHandleArray.Items) != n {
					b.Fatalf("decoded %+v", p.ExportJob)
				}
			}
		})
	}
}

// jobLogDetails is a getJobLogDetails answer of n asset rows and the
// archive row, as the service builds it.
func jobLogDetails(n int) *ipsapi.GetJobLogDetailsReturn {
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	log := &ipsapi.JobLog{
		CompanyHandle: "c|1", JobHandle: "j|1|42", JobName: "nightly_2026-11-28", OriginalJobName: "nightly",
		SubmitUserEmail: "bench@example.com", LogType: "EndExport", JobSubType: "Export",
		FileSuccessCount: int32(n), TotalFileCount: int32(n), DetailTotalRows: int32(n + 1),
		DetailArray: &ipsapi.JobLogDetailArray{},
	}
	for i := range n {
		log.DetailArray.Items = append(log.DetailArray.Items, &ipsapi.JobLogDetail{
			LogMessage: fmt.Sprintf("Exported photos/photo-%04d.jpg: https://ips.example.com/scene7/export/j%%7C1%%7C42/photos/photo-%04d.jpg?expires=1796000000&sig=0123456789abcdef0123456789abcdef", i, i),
			LogType:    "ExportSuccess", DateCreated: ipsapi.NewDateTime(at.Add(time.Duration(i) * time.Millisecond)),
			AssetName: fmt.Sprintf("photo-%04d", i), AssetType: "Image", AssetHandle: fmt.Sprintf("a|1|%d", 100000+i),
		})
	}
	log.DetailArray.Items = append(log.DetailArray.Items, &ipsapi.JobLogDetail{
		LogMessage: "Export archive", LogType: "ExportArchive", DateCreated: ipsapi.NewDateTime(at),
		AssetName: "https://ips.example.com/scene7/export/j%7C1%7C42.zip?expires=1796000000&sig=0123", AssetType: "Zip",
	})
	return &ipsapi.GetJobLogDetailsReturn{JobLogArray: &ipsapi.JobLogArray{Items: []*ipsapi.JobLog{log}}}
}

// BenchmarkEncodeJobLogDetails writes a getJobLogDetails answer of 1,000
// rows (the page size clients poll) as the handler does: encode, then
// project onto the request's schema version.
func BenchmarkEncodeJobLogDetails(b *testing.B) {
	schemas := ipsapi.NewSchemas()
	for _, n := range []int{0, 1000} {
		payload := jobLogDetails(n)
		for _, c := range []struct {
			name    string
			project soap.Projector
		}{{"encode", nil}, {"encode+project", schemas.Project}} {
			b.Run(fmt.Sprintf("rows=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				var size int
				for b.Loop() {
					out, err := soap.EncodeResponse(soap.SOAP11, benchNS, "getJobLogDetails", payload, c.project)
					if err != nil {
						b.Fatal(err)
					}
					size = len(out)
				}
				b.SetBytes(int64(size))
			})
		}
	}
}
