<?php
// Load every WSDL with PHP's SoapClient and send one submitJob with an exportJob.
// usage: php php_check.php BASE_URL TOOLKIT SOAP_VERSION(1.1|1.2) (WSDL NAMESPACE)...
// Prints a JSON array, one object per WSDL.
$base = $argv[1];
$tk = $argv[2];
$version = $argv[3] === '1.2' ? SOAP_1_2 : SOAP_1_1;
$out = [];
for ($i = 4; $i + 1 < count($argv); $i += 2) {
    $name = $argv[$i];
    $ns = $argv[$i + 1];
    $r = ['wsdl' => $name];
    try {
        $c = new SoapClient("$base/scene7/webservice/$name?tk=$tk", [
            'trace' => 1, 'cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true, 'soap_version' => $version,
        ]);
        $ops = [];
        foreach ($c->__getFunctions() as $f) {
            if (preg_match('/^\S+ (\w+)\(/', $f, $m)) {
                $ops[$m[1]] = true;
            }
        }
        $r['operations'] = array_keys($ops);
        sort($r['operations']);
        foreach ($c->__getTypes() as $t) {
            if (!preg_match('/^struct (\w+) \{(.*)\}$/s', $t, $m)) {
                continue;
            }
            $fields = [];
            foreach (explode(';', $m[2]) as $line) {
                $line = trim($line);
                if ($line !== '') {
                    $parts = preg_split('/\s+/', $line);
                    $fields[] = end($parts);
                }
            }
            if ($m[1] === 'ExportJob') {
                $r['exportJob'] = $fields;
            }
            if ($m[1] === 'submitJobParam') {
                $r['submitJobParam'] = $fields;
            }
        }
        $c->__setSoapHeaders([new SoapHeader($ns, 'authHeader', [
            'user' => 'php@example.com', 'password' => 'pw', 'appName' => 'php', 'appVersion' => PHP_VERSION,
        ])]);
        $res = $c->submitJob([
            'companyHandle' => 'c|1',
            'jobName' => 'php-job',
            'exportJob' => [
                'assetHandleArray' => ['items' => ['a|1', 'a|2']],
                'fmt' => 'convert',
                'is_modifier' => 'wid=100&fmt=png',
                'macro' => '$thumb$',
                'emailSetting' => 'None',
            ],
        ]);
        $r['jobHandle'] = $res->jobHandle;
        $first = function ($items) { return is_array($items) ? $items[0] : $items; };
        $job = $first($c->getActiveJobs(['companyHandle' => 'c|1'])->jobArray->items);
        $r['activeJobHandle'] = $job->jobHandle;
        $r['activeExportFmt'] = isset($job->exportJob) ? $job->exportJob->fmt : '';
        $log = $first($c->getJobLogDetails(['companyHandle' => 'c|1', 'originalName' => 'php-job'])->jobLogArray->items);
        $r['detailAssetName'] = $first($log->detailArray->items)->assetName;
    } catch (Throwable $e) {
        $r['error'] = get_class($e) . ': ' . $e->getMessage();
    }
    $out[] = $r;
}
echo json_encode($out), "\n";
