package main

// The one source of every XSD and WSDL this server publishes.
//
// Sources, in order of authority for each decision (docs/wire.md, "Schemas
// we publish"):
//   - element names and types: Adobe's IPS API reference pages, with their
//     known defects corrected;
//   - order and optionality: Adobe's 2021-01-11-beta XSD and the
//     2016-01-14-beta Axis2 stub classes (marcoguastalli/oneloginsaml2),
//     then the reference pages;
//   - pre-4.0 (U): the real pre-4.0 WSDL, plus exportJob.
//
// Three layouts result:
//   - U: the pre-4.0 shapes, plus exportJob in submitJobParam and the
//     operations that version lacked (getAssetsByName, deleteAssets);
//   - 6.x (2012-02-14, 2013-02-15, 2014-04-03): what the reference pages and
//     the 4.0–6.0 change logs add (exportJob, JobLog counters, JobLogDetail
//     assetHandle/auxArray, TaskProgress with taskState…);
//   - 2016 (2016-01-14-beta, 2017-10-29-beta, 2021-01-11-beta, 2023-01-15):
//     the 2016 stub / 2021 XSD layout (ActiveJob/triggerTime, the versioned
//     authHeader with accessToken and samlResponse, …). 2023-01-15 also keeps
//     User/defaultRole optional (see User).

func str(name string) *field  { return el(name, "string") }
func i32(name string) *field  { return el(name, "int") }
func i64(name string) *field  { return el(name, "long") }
func dbl(name string) *field  { return el(name, "double") }
func bln(name string) *field  { return el(name, "boolean") }
func date(name string) *field { return el(name, "dateTime") }

func arrayOf(name, item string) *ctype {
	return &ctype{name: name, fields: []*field{items(item)}}
}

func open(name, doc string) *ctype {
	return &ctype{name: name, open: true, doc: doc}
}

const openDoc = "not read nor written by this server (only exportJob is served); declared open so that a generated client can still send it"

// jobElements are the optional job-type elements of submitJobParam, ActiveJob
// and ScheduledJob, in the 2016/2021 order (docs/wire.md, "Schemas we publish").
func jobElements(withUploadPost bool, exportFrom ver) []*field {
	fs := []*field{
		el("imageServingPublishJob", "ImageServingPublishJob").opt(),
		el("imageRenderingPublishJob", "ImageRenderingPublishJob").opt(),
		el("videoPublishJob", "VideoPublishJob").opt(),
		el("serverDirectoryPublishJob", "ServerDirectoryPublishJob").opt(),
		el("metadataPublishJob", "MetadataPublishJob").opt().from(V16).d("in the 2016 stub and the 2021 XSD, not on the reference pages: 2016 on"),
		el("uploadDirectoryJob", "UploadDirectoryJob").opt(),
		el("uploadUrlsJob", "UploadUrlsJob").opt(),
	}
	if withUploadPost {
		fs = append(fs, el("uploadPostJob", "UploadPostJob").opt().from(V14).d("HTTP POST uploads (UploadFile servlet) arrived with SPS 6.8 = 2014-04-03"))
	}
	fs = append(fs,
		el("optimizeImagesJob", "OptimizeImagesJob").opt().from(V12),
		el("ripPdfsJob", "RipPdfsJob").opt().from(V12),
		el("reprocessAssetsJob", "ReprocessAssetsJob").opt().from(V12),
		el("createVideoSitemapJob", "CreateVideoSitemapJob").opt().from(V16).d("in the 2016 stub and the 2021 XSD, not on the reference pages: 2016 on"),
	)
	fs = append(fs, el("exportJob", "ExportJob").opt().from(exportFrom).d("ExportJob, added in IPS 6.0 = 2012-02-14 (change log 6.0)"),
		el("automatedSetGenerationJob", "AutomatedSetGenerationJob").opt().from(V12).d("on the reference pages (r-submit-job.md); its first version is undocumented: 6.x on"),
	)
	return fs
}

func description() *api {
	a := &api{}
	t := func(c *ctype) { a.types = append(a.types, c) }

	t(arrayOf("HandleArray", "string"))
	t(arrayOf("StringArray", "string"))

	// --- assets ---
	t(&ctype{name: "Metadata", fields: []*field{
		str("name"), str("value"),
		bln("boolVal").opt().from(V12).d("typed metadata values: IPS 4.0"),
		i64("longVal").opt().from(V12),
		dbl("doubleVal").opt().from(V12),
		date("dateVal").opt().from(V12),
	}})
	t(arrayOf("MetadataArray", "Metadata"))
	t(&ctype{name: "ZoomTarget", fields: []*field{
		str("zoomTargetHandle").opt(), str("name").opt(), i32("xPosition").opt(), i32("yPosition").opt(),
		i32("width").opt(), i32("height").opt(), str("userData").opt(),
		i32("position").opt().from(V12).d("on the reference page, not in pre-4.0"),
		date("lastModified").opt(),
	}})
	t(arrayOf("ZoomTargetArray", "ZoomTarget"))
	t(&ctype{name: "Mask", fields: []*field{
		str("maskHandle").opt(), str("name").opt(), str("maskPath").opt(), str("maskFile").opt(), date("lastModified").opt(),
	}})
	t(arrayOf("MaskArray", "Mask"))
	t(&ctype{name: "ImageMap", fields: []*field{
		str("imageMapHandle").opt(), str("name").opt(), str("region").opt(), str("action").opt(),
		str("shapeType").opt().d("the reference page types shapeType boolean and position string; the pre-4.0 WSDL's string and int are kept"),
		i32("position").opt(),
		bln("enabled").opt().from(V12).d("added in IPS 4.0"),
		date("lastModified").opt(),
	}})
	t(arrayOf("ImageMapArray", "ImageMap"))
	t(&ctype{name: "ImageInfo", fields: []*field{
		str("originalPath").opt(), str("originalFile").opt(), str("optimizedPath").opt(), str("optimizedFile").opt(),
		str("maskPath").opt(), str("maskFile").opt(), i32("width").opt(), i32("height").opt(), i32("fileSize").opt(),
		dbl("resolution").opt(), str("sku").opt(), str("description").opt(), str("comments").opt(), str("userData").opt(),
		i32("anchorX").opt(), i32("anchorY").opt(), str("urlModifier").opt(), str("urlPostApplyModifier").opt(),
		el("zoomTargets", "ZoomTargetArray").opt(), el("masks", "MaskArray").opt(), el("imageMaps", "ImageMapArray").opt(),
	}})
	t(&ctype{name: "Asset", doc: "Order from the 2016-01-14-beta stub (the reference page lists fields alphabetically). Of the per-type *Info elements only imageInfo is declared: this server describes no other asset kind; older clients ignore absent optional elements.", fields: []*field{
		str("assetHandle").opt(),
		str("type").opt(),
		str("subType").opt().from(V12).d("added in IPS 4.4"),
		str("name").opt(),
		str("fileName").opt().from(V12).d("added in IPS 4.5/6.0"),
		str("folder").opt(),
		str("folderHandle").opt(),
		bln("readyForPublish").opt(),
		str("trashState").opt().from(V12).d("added in IPS 4.2"),
		str("projects").opt(),
		str("ipsImageUrl").opt(),
		date("created").opt(),
		str("createUser").opt(),
		date("lastModified").opt(),
		str("lastModifyUser").opt(),
		el("metadataArray", "MetadataArray").opt(),
		el("imageInfo", "ImageInfo").opt(),
	}})
	t(arrayOf("AssetArray", "Asset"))
	t(&ctype{name: "AssetOperationFault", fields: []*field{str("assetHandle"), i32("code"), str("reason")}})
	t(arrayOf("AssetOperationFaultArray", "AssetOperationFault"))

	// --- company, user, folders ---
	t(&ctype{name: "Company", fields: []*field{
		str("companyHandle"), str("name"), str("rootPath"), date("expires").opt(),
		str("imsOrgId").opt().from(V16).d("2016-01-14-beta stub"),
	}})
	t(&ctype{name: "User", doc: "role is defaultRole since IPS 6.0 (change log 6.0); the 2016-01-14-beta stub has no role at all but imsUserId and a required isIpsAdmin. defaultRole is kept, optional, in the newest version (2023-01-15, whose User is undocumented) because the reference page lists it, so one Go type carries it for the versions that need it; the pre-4.0 schema names it role.", fields: []*field{
		str("userHandle"), str("firstName"), str("lastName"), str("email"),
		str("imsUserId").opt().from(V16).d("2016-01-14-beta stub"),
		str("defaultRole").set(absent, V16, V17, V21).set(optional, V23).named(U, "role"),
		bln("isValid"),
		bln("isIpsAdmin").from(V16).d("2016-01-14-beta stub"),
		date("passwordExpires").opt(),
	}})
	t(&ctype{name: "Permission", fields: []*field{
		str("groupHandle"), str("groupName"), str("permissionType"), bln("isAllowed"), bln("isOverride"),
	}})
	t(arrayOf("PermissionArray", "Permission"))
	t(&ctype{name: "PermissionSet", doc: "PermissionsSet, added in IPS 6.0; the reference page's 'PermissionSetHandle' is lower-cased", fields: []*field{
		str("permissionSetHandle").opt(), el("permissionArray", "PermissionArray").opt(),
	}})
	t(arrayOf("PermissionSetArray", "PermissionSet"))
	t(&ctype{name: "Folder", doc: "hasSubfolders and permissionSetHandle as the pre-4.0 WSDL and the 2016 stub spell them (the reference page says hasSubfolder, permissionsSetHandle). The pre-4.0 permissions element (PermissionArray, replaced by permissionSetHandle in 6.0) is left out: this server has no folder permissions.", fields: []*field{
		str("folderHandle").opt(), str("path").opt(),
		date("lastModified").opt().from(V12),
		date("childLastModified").opt().from(V12),
		str("permissionSetHandle").opt().from(V12),
		bln("hasSubfolders").opt(),
		el("subfolderArray", "FolderArray").opt(),
	}})
	t(arrayOf("FolderArray", "Folder"))
	t(&ctype{name: "ImageFormat", doc: "An image preset: name is the macro name, urlModifier its Image Serving commands", fields: []*field{
		str("imageFormatHandle"), str("name"), str("urlModifier"),
	}})
	t(arrayOf("ImageFormatArray", "ImageFormat"))

	// --- searchAssets conditions ---
	t(&ctype{name: "SystemFieldCondition", fields: []*field{
		str("field"), str("op"),
		str("value").optFrom(V12).d("optional once typed values exist (IPS 4.0)"),
		bln("boolVal").opt().from(V12), i64("longVal").opt().from(V12), i64("minLong").opt().from(V12), i64("maxLong").opt().from(V12),
		dbl("doubleVal").opt().from(V12), dbl("minDouble").opt().from(V12), dbl("maxDouble").opt().from(V12),
		date("dateVal").opt().from(V12), date("minDate").opt().from(V12), date("maxDate").opt().from(V12),
	}})
	t(arrayOf("SystemFieldConditionArray", "SystemFieldCondition"))
	t(&ctype{name: "MetadataCondition", fields: []*field{
		str("fieldHandle"), str("op"),
		str("value").optFrom(V12),
		bln("boolVal").opt().from(V12), i64("longVal").opt().from(V12), i64("minLong").opt().from(V12), i64("maxLong").opt().from(V12),
		dbl("doubleVal").opt().from(V12), dbl("minDouble").opt().from(V12), dbl("maxDouble").opt().from(V12),
		date("dateVal").opt().from(V12).d("the reference page misspells it dateVale"),
		date("minDate").opt().from(V12), date("maxDate").opt().from(V12),
		bln("caseSensitive").opt().from(V12),
	}})
	t(arrayOf("MetadataConditionArray", "MetadataCondition"))
	t(&ctype{name: "TagCondition", fields: []*field{
		str("fieldHandle"), str("op"), str("value").opt(), el("valueArray", "StringArray").opt(),
	}})
	t(arrayOf("TagConditionArray", "TagCondition"))
	t(&ctype{name: "ExcludeByproductCondition", fields: []*field{str("engine"), str("generatedAssetType")}})
	t(arrayOf("ExcludeByproductArray", "ExcludeByproductCondition"))

	// --- job options (upload jobs; refused by this server) ---
	t(&ctype{name: "ManualCropOptions", fields: []*field{i32("left"), i32("right"), i32("top"), i32("bottom")}})
	t(&ctype{name: "AutoColorCropOptions", fields: []*field{str("corner"), dbl("tolerance")}})
	t(&ctype{name: "AutoTransparentCropOptions", fields: []*field{dbl("tolerance")}})
	t(open("PhotoshopOptions", openDoc+" (its pre-4.0 and current shapes differ)"))
	t(&ctype{name: "PostScriptOptions", fields: []*field{
		str("process").opt().from(V12), dbl("resolution"), str("colorspace"), bln("alpha").opt().from(V12), bln("extractSearchWords"),
	}})
	t(&ctype{name: "PDFOptions", fields: []*field{
		str("process").opt(), dbl("resolution").opt(), str("colorspace").opt(), bln("pdfCatalog").opt(),
		bln("extractSearchWords").opt(), bln("extractLinks").opt(),
	}})
	t(open("IllustratorOptions", openDoc))
	t(&ctype{name: "ColorManagementOptions", fields: []*field{
		str("colorManagement"), str("sourceProfileHandle").opt(), str("outputProfileHandle").opt(),
	}})
	t(&ctype{name: "AutoSetCreationOptions", fields: []*field{el("autoSetsArray", "HandleArray").opt()}})
	t(&ctype{name: "KnockoutBackgroundOptions", fields: []*field{str("corner"), dbl("tolerance").opt(), str("fillMethod")}})
	t(&ctype{name: "UnsharpMaskOptions", fields: []*field{dbl("amount").opt(), dbl("radius").opt(), i32("threshold").opt(), i32("monochrome").opt()}})
	t(&ctype{name: "UnCompressOptions", fields: []*field{str("process")}})
	t(&ctype{name: "ThumbnailOptions", fields: []*field{i64("thumbnailTime").opt()}})
	t(&ctype{name: "MediaOptions", fields: []*field{
		el("videoEncodingPresetsArray", "HandleArray").opt(), bln("generateThumbnail").opt(), el("thumbnailOptions", "ThumbnailOptions").opt(),
	}})
	t(open("InDesignOptions", openDoc))
	t(&ctype{name: "UploadUrl", fields: []*field{str("sourceUrl"), str("destPath")}})
	t(arrayOf("UploadUrlArray", "UploadUrl"))

	// --- job types ---
	t(&ctype{name: "ImageServingPublishJob", fields: []*field{
		str("publishType"), str("emailSetting"), str("httpCompletionUrl").opt(),
		str("contextHandle").opt().from(V16).d("2016-01-14-beta stub"),
	}})
	t(&ctype{name: "ImageRenderingPublishJob", fields: []*field{
		str("emailSetting"), str("httpCompletionUrl").opt(), str("contextHandle").opt().from(V12).d("added in IPS 6.0"),
	}})
	t(&ctype{name: "VideoPublishJob", fields: []*field{
		str("emailSetting"), str("httpCompletionUrl").opt(), str("contextHandle").opt().from(V12).d("added in IPS 6.0"),
	}})
	t(&ctype{name: "ServerDirectoryPublishJob", doc: "the reference page's emailSettings is emailSetting, as in the pre-4.0 WSDL", fields: []*field{
		str("emailSetting"), str("httpCompletionUrl").opt(),
	}})
	t(&ctype{name: "MetadataPublishJob", fields: []*field{bln("forcePublish").opt()}})
	t(open("UploadDirectoryJob", openDoc))
	t(&ctype{name: "UploadUrlsJob", doc: "Order from the 2016-01-14-beta stub (the reference page lists fields alphabetically); knockoutBackgroundOptions as the stub serializes it (the page says knockoutBackground).", fields: []*field{
		el("urlArray", "UploadUrlArray").optFrom(V16).d("required before 2016 (change log 4.5); optional in the 2016 stub"),
		i32("numUrls").opt().from(V12),
		bln("overwrite"),
		bln("readyForPublish"),
		bln("preservePublishState").opt().from(V12),
		bln("createMask"),
		bln("preserveCrop").opt().from(V12),
		el("knockoutBackgroundOptions", "KnockoutBackgroundOptions").opt().from(V12),
		el("manualCropOptions", "ManualCropOptions").opt(),
		el("autoColorCropOptions", "AutoColorCropOptions").opt(),
		el("autoTransparentCropOptions", "AutoTransparentCropOptions").opt(),
		el("photoshopOptions", "PhotoshopOptions").opt(),
		el("postScriptOptions", "PostScriptOptions").opt(),
		el("pdfOptions", "PDFOptions").opt().from(V12),
		el("illustratorOptions", "IllustratorOptions").opt().from(V12),
		el("colorManagementOptions", "ColorManagementOptions").opt(),
		el("autoSetCreationOptions", "AutoSetCreationOptions").opt().from(V12),
		el("projectHandleArray", "HandleArray").opt(),
		str("emailSetting"),
		bln("postJobOnlyIfFiles").opt(),
		str("postHttpUrl").opt(),
		el("postImageServingPublishJob", "ImageServingPublishJob").opt(),
		el("postImageRenderingPublishJob", "ImageRenderingPublishJob").opt(),
		el("postVideoPublishJob", "VideoPublishJob").opt(),
		el("mediaOptions", "MediaOptions").opt().from(V12),
		el("inDesignOptions", "InDesignOptions").opt().from(V12),
		str("xmpKeywords").opt().from(V12),
		el("unsharpMaskOptions", "UnsharpMaskOptions").opt().from(V12),
		el("unCompressOptions", "UnCompressOptions").opt().from(V12),
		bln("excludeMasterVideoFromAVS").opt().from(V16).d("2016-01-14-beta stub"),
	}})
	t(open("UploadPostJob", openDoc))
	t(&ctype{name: "OptimizeImagesJob", fields: []*field{str("emailSetting")}})
	t(open("RipPdfsJob", openDoc))
	t(open("ReprocessAssetsJob", openDoc))
	t(&ctype{name: "CreateVideoSitemapJob", fields: []*field{bln("forceUpdate").opt()}})
	t(&ctype{name: "ExportJob", doc: "Order and optionality from the 2021 XSD and the 2016 stub (identical); is_modifier, not the reference prose's is_modifer.", fields: []*field{
		el("assetHandleArray", "HandleArray"),
		str("fmt").d("orig or convert"),
		str("is_modifier").opt().d("Image Serving commands, e.g. wid=800&fmt=png"),
		str("macro").opt().d("an image format (preset) name, $name$ or bare"),
		str("emailSetting").d("All, Error, ErrorAndWarning, JobCompletion or None"),
		str("clientId").opt().d("reserved by IPS; stored, otherwise unused"),
	}})
	t(&ctype{name: "AutomatedSetGenerationJob", doc: "as the XSD fragment on its reference page", fields: []*field{
		el("assetHandleArray", "HandleArray"), str("destFolder").opt(), bln("readyForPublish"),
		el("autoSetCreationOptions", "AutoSetCreationOptions"), str("emailSetting"),
	}})

	// --- following jobs ---
	t(&ctype{name: "TaskItemProgress", fields: []*field{
		str("itemName"), dbl("progress"), str("progressMessage"), date("lastProgressUpdate"),
	}})
	t(arrayOf("TaskItemProgressArray", "TaskItemProgress"))
	t(&ctype{name: "TaskProgress", doc: "order of the 2021 XSD (the reference page lists taskState last), all required", fields: []*field{
		str("taskType"),
		str("taskState").from(V12).d("added in IPS 6.0"),
		i32("numProcessed"), i32("numProcessing"), i32("numPending"),
		dbl("progress").d("0.0 to 1.0"),
		str("progressMessage"), date("lastProgressUpdate"),
		el("taskItemProgressArray", "TaskItemProgressArray"),
	}})
	t(&ctype{name: "TaskProgressArray", doc: "child items, not the reference page's item", fields: []*field{items("TaskProgress")}})
	t(&ctype{name: "ActiveJob", doc: "2021 XSD order; totalSize int and progressMessage string (the reference page swaps them). A real 2010-01-31 response already carries locale and taskProgressArray, so 6.x has them; triggerTime arrives in 2016.", fields: append([]*field{
		str("companyHandle"), str("jobHandle"), str("name"), str("originalName"), str("type"), str("state"), str("submitUserEmail"),
		str("locale").opt().from(V12), str("description").opt().from(V12),
		str("serverName"), date("startDate"),
		date("triggerTime").from(V16).d("2016 stub and 2021 XSD, missing from the reference page"),
		i32("totalSize"), i32("progress"), str("progressMessage"), date("lastProgressUpdate"),
		el("taskProgressArray", "TaskProgressArray").from(V12),
	}, jobElements(true, V12)...)})
	t(arrayOf("ActiveJobArray", "ActiveJob"))
	t(&ctype{name: "ScheduledJob", doc: "2016 stub order; timeZone and triggerState are strings (the reference page says dateTime and int)", fields: append([]*field{
		str("companyHandle"), str("jobHandle"), str("name"), str("originalName"), str("type"), str("submitUserEmail"),
		str("locale").opt().from(V12), str("description").opt().from(V12),
		str("execSchedule").opt(), date("nextFireTime").opt(), str("timeZone").opt(), str("triggerState").opt(),
	}, jobElements(false, V12)...)})
	t(arrayOf("ScheduledJobArray", "ScheduledJob"))
	t(&ctype{name: "JobLogDetailAux", fields: []*field{str("logMessage"), str("logType"), date("dateCreated").opt()}})
	t(arrayOf("JobLogDetailAuxArray", "JobLogDetailAux"))
	t(&ctype{name: "JobLogDetail", fields: []*field{
		str("logMessage"), str("logType"),
		date("dateCreated").from(V12).set(optional, V12, V13, V14).d("required in the 2016 stub and the 2021 XSD (missing from the reference page); optional in 6.x, whose schema is unknown"),
		str("assetName").opt(), str("assetType").opt(),
		str("assetHandle").opt().from(V12).d("added in IPS 4.0"),
		el("auxArray", "JobLogDetailAuxArray").opt().from(V12).d("added in IPS 4.5"),
	}})
	t(arrayOf("JobLogDetailArray", "JobLogDetail"))
	t(&ctype{name: "JobLog", doc: "2021 XSD order and optionality", fields: []*field{
		str("companyHandle"), str("jobHandle"), str("jobName"),
		str("originalJobName").from(V12).d("added in IPS 4.0"),
		str("submitUserEmail"), str("logType"),
		str("jobSubType").from(V12).d("added in IPS 4.0"),
		date("startDate").opt(), date("endDate").opt(),
		str("description").from(V12).d("added in IPS 4.0"),
		i32("fileSuccessCount"), i32("fileErrorCount"), i32("fileWarningCount"), i32("fileDuplicateCount"), i32("fileUpdateCount"), i32("totalFileCount"),
		i32("transferSuccessCount").from(V12).d("added in IPS 4.4"), i32("transferErrorCount").from(V12), i32("transferWarningCount").from(V12),
		bln("fatalError"),
		i32("detailTotalRows").opt().from(V12),
		el("detailArray", "JobLogDetailArray").opt(),
	}})
	t(arrayOf("JobLogArray", "JobLog"))
	t(&ctype{name: "AssetJobLog", doc: "as the reference page lists it (r-asset-job-log.md); auxArray is a JobLogDetailArray there", fields: []*field{
		str("jobHandle"), str("jobName"), str("logMessage"), str("logType"), str("submitUserEmail"), date("logDate"),
		el("auxArray", "JobLogDetailArray").opt(),
	}})
	t(arrayOf("AssetJobLogArray", "AssetJobLog"))

	// --- operations ---
	o := func(x *op) { a.ops = append(a.ops, x) }
	handleParam := func() []*field { return []*field{str("companyHandle"), str("jobHandle")} }
	o(&op{name: "checkLogin", param: []*field{str("companyHandle").opt(), str("email"), str("password")}, ret: []*field{str("status").d("ValidLogin or InvalidLogin")}})
	o(&op{name: "getCompanyInfo", param: []*field{str("companyHandle").opt(), str("companyName").opt()}, ret: []*field{el("companyInfo", "Company")}})
	o(&op{name: "getUserInfo", param: []*field{str("userHandle").opt(), str("email").opt()}, ret: []*field{el("userInfo", "User")}})
	o(&op{name: "getAssets", param: []*field{
		str("companyHandle"), str("accessUserHandle").opt(), str("accessGroupHandle").opt(),
		el("assetHandleArray", "HandleArray"),
		el("responseFieldArray", "StringArray").opt(), el("excludeFieldArray", "StringArray").opt(),
	}, ret: []*field{el("assetArray", "AssetArray").opt()}})
	o(&op{name: "getAssetsByName", doc: "not in the pre-4.0 WSDL; declared there too, with its current fields", param: []*field{
		str("companyHandle"), str("accessUserHandle").opt(), str("accessGroupHandle").opt(),
		el("nameArray", "StringArray"),
		el("assetTypeArray", "StringArray").opt(), el("excludeAssetTypeArray", "StringArray").opt(),
		el("assetSubTypeArray", "StringArray").opt(), bln("strictSubTypeCheck").opt(),
		el("responseFieldArray", "StringArray").opt(), el("excludeFieldArray", "StringArray").opt(),
	}, ret: []*field{el("assetArray", "AssetArray").opt()}})
	o(&op{name: "searchAssets", doc: "order of the 2016 stub, which matches the reference page", param: []*field{
		str("companyHandle"), str("accessUserHandle").opt(), str("accessGroupHandle").opt(), str("folder").opt(),
		bln("includeSubfolders").optFrom(V12).d("required in the pre-4.0 WSDL and the 2016 stub; optional on the reference page, which this server follows (absent means true)"),
		str("publishState").opt(),
		str("trashState").opt().from(V12).d("added in IPS 4.0"),
		str("conditionMatchMode").opt(),
		el("keywordArray", "StringArray").opt(),
		str("systemFieldMatchMode").opt(),
		el("systemFieldConditionArray", "SystemFieldConditionArray").opt(),
		str("tagMatchMode").opt().from(V12),
		el("tagConditionArray", "TagConditionArray").opt().from(V12).d("added in IPS 4.5"),
		str("metadataMatchMode").opt(),
		el("metadataConditionArray", "MetadataConditionArray").opt(),
		el("assetTypeArray", "StringArray").opt(),
		el("excludeAssetTypeArray", "StringArray").opt().from(V12).d("added in IPS 4.0"),
		el("assetSubTypeArray", "StringArray").opt().from(V12),
		bln("strictSubTypeCheck").opt().from(V12),
		bln("excludeByproducts").opt().from(V12).d("added in IPS 4.0"),
		el("excludeByproductArray", "ExcludeByproductArray").opt().from(V12).d("the reference page misspells it excludByproductArray"),
		str("projectHandle").opt(),
		i32("recordsPerPage").opt(), i32("resultsPage").opt(), str("sortBy").opt(), str("sortDirection").opt(),
		el("responseFieldArray", "StringArray").opt(), el("excludeFieldArray", "StringArray").opt(),
	}, ret: []*field{i32("totalRows").opt(), el("assetArray", "AssetArray").opt()}})
	o(&op{name: "getFolders", param: []*field{
		str("companyHandle"), str("accessUserHandle").opt(), str("accessGroupHandle").opt(), str("folderPath").opt(),
		el("assetTypeArray", "StringArray").opt(),
		el("responseFieldArray", "StringArray").opt(), el("excludeFieldArray", "StringArray").opt(),
	}, ret: []*field{
		el("folderArray", "FolderArray").opt(),
		el("permissionSetArray", "PermissionSetArray").opt().from(V12).d("as the 2016 stub spells it (the reference page says permissionsSetArray)"),
	}})
	o(&op{name: "deleteAsset", param: []*field{str("companyHandle"), str("assetHandle")}})
	o(&op{name: "deleteAssets", doc: "not in the pre-4.0 WSDL (IPS 4.0); declared there too", param: []*field{
		str("companyHandle"), el("assetHandleArray", "HandleArray"),
	}, ret: []*field{
		i32("successCount"), i32("warningCount"), i32("errorCount"),
		el("warningDetailArray", "AssetOperationFaultArray").opt(), el("errorDetailArray", "AssetOperationFaultArray").opt(),
	}})
	o(&op{name: "setUrlModifier", doc: "added in IPS 4.0 (change log 4.0): not in the pre-4.0 WSDL; as its reference page declares it", since: V12,
		param: []*field{str("companyHandle"), str("assetHandle"), str("urlModifier").opt(), str("urlPostApplyModifier").opt()}})
	o(&op{name: "getImageFormats", param: []*field{str("companyHandle")}, ret: []*field{el("imageFormatArray", "ImageFormatArray")}})
	o(&op{name: "saveImageFormat", param: []*field{
		str("companyHandle"), str("imageFormatHandle").opt().d("absent: create (or update the format of that name)"), str("name"), str("urlModifier"),
	}, ret: []*field{str("imageFormatHandle")}})
	o(&op{name: "deleteImageFormat", param: []*field{str("companyHandle"), str("imageFormatHandle")}})
	// pre-4.0 gets exportJob too (jobElements(false, U)): our operations are a superset there.
	o(&op{name: "submitJob", doc: "2021 XSD order; every job element is an optional sequence member (not a choice); exactly one must be given. This server runs exportJob only and answers the others with ipsApiFault 30001.", param: append([]*field{
		str("companyHandle"), str("userHandle").opt(), str("jobName"),
		str("locale").opt().from(V12).d("added in IPS 4.0"),
		date("execTime").opt(), str("execSchedule").opt(),
		str("description").opt().from(V12).d("added in IPS 4.0"),
	}, jobElements(false, U)...), ret: []*field{str("jobHandle")}})
	o(&op{name: "getActiveJobs", param: []*field{
		str("companyHandle").opt(), str("jobHandle").opt(), str("originalName").opt(),
		bln("includeWaitingJobs").opt().from(V16).d("2016 stub and 2021 XSD, undocumented"),
	}, ret: []*field{el("jobArray", "ActiveJobArray").d("ActiveJobArray (the reference page says xsd:string)")}})
	o(&op{name: "getScheduledJobs", param: []*field{
		str("companyHandle").opt().d("required on the reference page, optional in the pre-4.0 WSDL and the 2021 XSD"),
		str("jobHandle").opt(), str("originalName").opt(),
	}, ret: []*field{el("jobArray", "ScheduledJobArray")}})
	o(&op{name: "getJobLogs", param: []*field{
		str("companyHandle").opt(), str("userHandle").opt(), str("sortBy").opt(), str("sortDirection").opt(),
		date("startDate").opt(), date("endDate").opt(), i32("numRows").opt(),
	}, ret: []*field{el("jobLogArray", "JobLogArray")}})
	o(&op{name: "getJobLogDetails", param: []*field{
		str("companyHandle"), str("jobHandle").opt(), str("originalName").opt(),
		el("logTypeArray", "StringArray").opt().from(V12).d("filter and paging: on the reference page, not in pre-4.0"),
		i32("recordsPerPage").opt().from(V12), i32("resultsPage").opt().from(V12),
		str("sortBy").opt().from(V12), str("sortDirection").opt().from(V12),
	}, ret: []*field{el("jobLogArray", "JobLogArray")}})
	o(&op{name: "getAssetJobLogs", doc: "IPS 4.0 (its example is in the 2008-01-15 namespace): not in the pre-4.0 WSDL", since: V12,
		param: []*field{str("companyHandle"), str("assetHandle")},
		ret:   []*field{el("jobLogArray", "AssetJobLogArray")}})
	o(&op{name: "getOriginalFilePaths", doc: "as the pre-4.0 WSDL and the reference page declare it",
		param: []*field{str("companyHandle"), el("assetHandleArray", "HandleArray")},
		ret:   []*field{el("originalFileArray", "StringArray")}})
	o(&op{name: "stopJob", param: handleParam()})
	o(&op{name: "pauseJob", param: handleParam()})
	o(&op{name: "resumeJob", param: handleParam()})
	o(&op{name: "executeJob", doc: "as the pre-4.0 WSDL declares it (IPS 3.7): run a scheduled job now", param: handleParam()})
	o(&op{name: "deleteJob", param: handleParam()})
	return a
}
