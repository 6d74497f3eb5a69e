<?php
// Control and reconcile IPS Export jobs with PHP's SoapClient in WSDL mode
// (authHeader as a SoapHeader in the versioned namespace): a waiting job
// held, listed by getScheduledJobs, run with executeJob; the asset's
// entries (getAssetJobLogs) and the originals' paths (getOriginalFilePaths).
// usage: php php_jobs.php CONFIG_JSON   (wsdl, ns, user, password, company,
// handles, prefix, assetJobLogs)
$cfg = json_decode($argv[1], true);
$client = new SoapClient($cfg['wsdl'], ['trace' => 1, 'exceptions' => true, 'cache_wsdl' => WSDL_CACHE_NONE]);
$client->__setSoapHeaders([new SoapHeader($cfg['ns'], 'authHeader',
    ['user' => $cfg['user'], 'password' => $cfg['password'], 'appName' => 'php-jobs', 'appVersion' => '1.0'], false)]);
function items($v) {
    if (!isset($v->items)) { return []; }
    return is_array($v->items) ? $v->items : [$v->items]; // one item is an object
}
$out = [];
$company = $client->getCompanyInfo(['companyName' => $cfg['company']])->companyInfo->companyHandle;
$job = $client->submitJob(['companyHandle' => $company, 'jobName' => $cfg['prefix'] . '-later',
    'execTime' => '2099-01-01T00:00:00Z',
    'exportJob' => ['assetHandleArray' => ['items' => $cfg['handles']], 'fmt' => 'orig', 'emailSetting' => 'None']])->jobHandle;
$client->pauseJob(['companyHandle' => $company, 'jobHandle' => $job]);
foreach (items($client->getScheduledJobs(['companyHandle' => $company])->jobArray) as $s) {
    if ($s->jobHandle === $job) { $out['triggerState'] = $s->triggerState; $out['timeZone'] = $s->timeZone; }
}
$client->executeJob(['companyHandle' => $company, 'jobHandle' => $job]);
$deadline = time() + 60;
do {
    $log = items($client->getJobLogDetails(['companyHandle' => $company, 'jobHandle' => $job])->jobLogArray)[0];
    if (isset($log->endDate)) { break; }
    usleep(200000);
} while (time() < $deadline);
$out['logType'] = $log->logType;
$out['fileSuccessCount'] = $log->fileSuccessCount;
if ($cfg['assetJobLogs']) {
    $entries = items($client->getAssetJobLogs(['companyHandle' => $company, 'assetHandle' => $cfg['handles'][0]])->jobLogArray);
    $out['assetJobLogs'] = array_map(fn($e) => ['jobHandle' => $e->jobHandle, 'logType' => $e->logType], $entries);
}
$out['originalFilePaths'] = items($client->getOriginalFilePaths(['companyHandle' => $company,
    'assetHandleArray' => ['items' => $cfg['handles']]])->originalFileArray);
$client->deleteJob(['companyHandle' => $company, 'jobHandle' => $job]);
$out['jobHandle'] = $job;
echo json_encode($out), "\n";
