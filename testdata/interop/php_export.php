<?php
// Follow IPS Export jobs end to end with PHP's SoapClient in WSDL mode:
// authHeader as a SoapHeader in the versioned namespace (no mustUnderstand),
// saveImageFormat, submitJob orig and convert, getActiveJobs and
// getJobLogDetails(originalName) every 500 ms until a detail's assetName is
// an http link, a plain GET of that link with no credentials, getJobLogs.
// usage: php php_export.php CONFIG_JSON
// CONFIG_JSON: wsdl, ns, user, password, company, origHandles, convertNames,
// macro {name, urlModifier}, isModifier, jobPrefix, outDir.
// Prints one JSON object. The zip is saved under outDir; its entries are
// listed with ZipArchive when the zip extension is there, else with a small
// central-directory reader over zlib (gzinflate).

$cfg = json_decode($argv[1], true);
$client = new SoapClient($cfg['wsdl'], ['trace' => 1, 'exceptions' => true, 'cache_wsdl' => WSDL_CACHE_NONE]);
$client->__setSoapHeaders([new SoapHeader($cfg['ns'], 'authHeader',
    ['user' => $cfg['user'], 'password' => $cfg['password'], 'appName' => 'php-export', 'appVersion' => '1.0'], false)]);

// An IPS array as a PHP list: SoapClient gives one item as an object.
function items($arr) {
    if ($arr === null || !isset($arr->items)) { return []; }
    return is_array($arr->items) ? $arr->items : [$arr->items];
}

function sniff($head) {
    if (strncmp($head, "\x89PNG\r\n\x1a\n", 8) === 0) { return 'png'; }
    if (strncmp($head, "\xff\xd8\xff", 3) === 0) { return 'jpeg'; }
    if (strncmp($head, "II*\x00", 4) === 0 || strncmp($head, "MM\x00*", 4) === 0) { return 'tiff'; }
    if (strncmp($head, "GIF8", 4) === 0) { return 'gif'; }
    if (substr($head, 0, 4) === 'RIFF' && substr($head, 8, 4) === 'WEBP') { return 'webp'; }
    return 'unknown';
}

function entry($name, $body) {
    return ['name' => $name, 'size' => strlen($body), 'sha256' => hash('sha256', $body),
        'head' => bin2hex(substr($body, 0, 16)), 'format' => sniff(substr($body, 0, 16))];
}

// zipEntries lists a zip's files; $reader says which reader did it.
function zipEntries($path, $data, &$reader) {
    if (class_exists('ZipArchive')) {
        $reader = 'ZipArchive';
        $z = new ZipArchive();
        if ($z->open($path) !== true) { throw new Exception("ZipArchive cannot open $path"); }
        $out = [];
        for ($i = 0; $i < $z->numFiles; $i++) {
            $out[] = entry($z->getNameIndex($i), $z->getFromIndex($i));
        }
        $z->close();
        return $out;
    }
    $reader = 'central-directory';
    $eocd = strrpos($data, "PK\x05\x06");
    if ($eocd === false) { throw new Exception('no end of central directory'); }
    $e = unpack('vdisk/vcddisk/vn/vtotal/Vsize/Voffset', substr($data, $eocd + 4, 16));
    $p = $e['offset'];
    $out = [];
    for ($i = 0; $i < $e['total']; $i++) {
        if (substr($data, $p, 4) !== "PK\x01\x02") { throw new Exception("bad central header at $p"); }
        $h = unpack('vmethod', substr($data, $p + 10, 2))
            + unpack('Vcsize/Vusize/vnlen/vxlen/vclen', substr($data, $p + 20, 14))
            + unpack('Vlocal', substr($data, $p + 42, 4));
        $name = substr($data, $p + 46, $h['nlen']);
        $l = unpack('vnlen/vxlen', substr($data, $h['local'] + 26, 4));
        $raw = substr($data, $h['local'] + 30 + $l['nlen'] + $l['xlen'], $h['csize']);
        $body = $h['method'] == 8 ? gzinflate($raw) : $raw;
        if ($body === false) { throw new Exception("cannot inflate $name"); }
        $out[] = entry($name, $body);
        $p += 46 + $h['nlen'] + $h['xlen'] + $h['clen'];
    }
    return $out;
}

function follow($client, $company, $jobName, $jobHandle, $outDir) {
    $res = ['jobName' => $jobName, 'jobHandle' => $jobHandle, 'activeStates' => [], 'polls' => 0];
    $deadline = microtime(true) + 120;
    $zipURL = null;
    while ($zipURL === null && microtime(true) < $deadline) {
        $res['polls']++;
        $a = $client->getActiveJobs(['companyHandle' => $company, 'originalName' => $jobName]);
        foreach (items($a->jobArray ?? null) as $aj) {
            if (!in_array($aj->state, $res['activeStates'], true)) { $res['activeStates'][] = $aj->state; }
        }
        $d = $client->getJobLogDetails(['companyHandle' => $company, 'originalName' => $jobName]);
        foreach (items($d->jobLogArray ?? null) as $log) {
            $details = items($log->detailArray ?? null);
            foreach ($details as $det) {
                if (isset($det->assetName) && strncmp($det->assetName, 'http', 4) === 0) {
                    $zipURL = $det->assetName;
                    $res['detailTypes'] = array_map(fn($x) => $x->logType, $details);
                    break 2;
                }
            }
        }
        if ($zipURL === null) { usleep(500000); }
    }
    if ($zipURL === null) { fwrite(STDERR, "job $jobName did not end within 120 s\n"); exit(1); }
    $res['zipURL'] = $zipURL;

    // A plain GET, no credentials (allow_url_fopen's http wrapper).
    $data = file_get_contents($zipURL, false, stream_context_create(['http' => ['ignore_errors' => true]]));
    $status = 0;
    if (isset($http_response_header[0]) && preg_match('{^HTTP/\S+\s+(\d+)}', $http_response_header[0], $m)) {
        $status = (int)$m[1];
    }
    $res['downloadStatus'] = $status;
    $path = $outDir . '/' . $jobName . '.zip';
    file_put_contents($path, $data);
    $res['zipPath'] = $path;
    $res['entries'] = zipEntries($path, $data, $reader);
    $res['zipReader'] = $reader;

    $logs = $client->getJobLogs(['companyHandle' => $company]);
    foreach (items($logs->jobLogArray ?? null) as $log) {
        if ($log->jobHandle === $jobHandle) {
            $res['log'] = ['jobHandle' => $log->jobHandle, 'logType' => $log->logType,
                'totalFileCount' => (int)$log->totalFileCount, 'fileSuccessCount' => (int)$log->fileSuccessCount,
                'fileErrorCount' => (int)$log->fileErrorCount, 'fileWarningCount' => (int)$log->fileWarningCount];
        }
    }
    return $res;
}

$out = [];
$handle = $client->getCompanyInfo(['companyName' => $cfg['company']])->companyInfo->companyHandle;
$out['companyHandle'] = $handle;
$out['macroHandle'] = $client->saveImageFormat(['companyHandle' => $handle,
    'name' => $cfg['macro']['name'], 'urlModifier' => $cfg['macro']['urlModifier']])->imageFormatHandle;
$r = $client->getAssetsByName(['companyHandle' => $handle, 'nameArray' => ['items' => $cfg['convertNames']]]);
$out['convertHandles'] = array_map(fn($a) => $a->assetHandle, items($r->assetArray ?? null));

$p = $cfg['jobPrefix'];
$origHandle = $client->submitJob(['companyHandle' => $handle, 'jobName' => "$p-orig",
    'exportJob' => ['assetHandleArray' => ['items' => $cfg['origHandles']], 'fmt' => 'orig', 'emailSetting' => 'None']])->jobHandle;
$convHandle = $client->submitJob(['companyHandle' => $handle, 'jobName' => "$p-convert",
    'exportJob' => ['assetHandleArray' => ['items' => $out['convertHandles']], 'fmt' => 'convert',
        'is_modifier' => $cfg['isModifier'], 'macro' => '$' . $cfg['macro']['name'] . '$', 'emailSetting' => 'None']])->jobHandle;
$out['orig'] = follow($client, $handle, "$p-orig", $origHandle, $cfg['outDir']);
$out['convert'] = follow($client, $handle, "$p-convert", $convHandle, $cfg['outDir']);
echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";
