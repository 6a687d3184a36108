<?php
// php.localhost: shows whether PostgreSQL is reachable from php-fpm.
// Settings come from the container environment:
//   DB_HOST (default "db"), DB_PORT (5432), DB_NAME ("app"), DB_USER ("app"),
//   DB_PASSWORD_FILE (default /run/secrets/db_password; its first line is the password).
declare(strict_types=1);

function env_or(string $name, string $default): string
{
    $value = getenv($name);
    return ($value === false || $value === '') ? $default : $value;
}

function h(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

$host = env_or('DB_HOST', 'db');
$port = env_or('DB_PORT', '5432');
$name = env_or('DB_NAME', 'app');
$user = env_or('DB_USER', 'app');
$passwordFile = env_or('DB_PASSWORD_FILE', '/run/secrets/db_password');

$ok = false;
$reason = '';
$serverVersion = '';
$notes = [];

try {
    $password = @file_get_contents($passwordFile);
    if ($password === false) {
        throw new RuntimeException("cannot read password file $passwordFile");
    }
    // first line only, like initdb --pwfile in the db image
    $password = rtrim(explode("\n", $password, 2)[0], "\r");
    $pdo = new PDO(
        sprintf('pgsql:host=%s;port=%s;dbname=%s;connect_timeout=3', $host, $port, $name),
        $user,
        $password,
        [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]
    );
    $pdo->query('SELECT 1')->fetchColumn();
    $ok = true;
    $serverVersion = (string) $pdo->query('SHOW server_version')->fetchColumn();
    try {
        $notes = $pdo->query('SELECT id, title FROM notes ORDER BY id')->fetchAll(PDO::FETCH_ASSOC);
    } catch (PDOException $e) {
        // the sample table is optional
    }
} catch (Throwable $e) {
    $reason = $e->getMessage();
}

if (!$ok) {
    http_response_code(503);
}
header('Content-Type: text/html; charset=utf-8');
header('Cache-Control: no-store');
?>
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>php.localhost</title>
</head>
<body>
  <h1>php.localhost</h1>
  <p>PHP <?= h(PHP_VERSION) ?> (<?= h(PHP_SAPI) ?>)</p>
<?php if ($ok): ?>
  <p id="db-status">database: ok</p>
  <p>PostgreSQL <?= h($serverVersion) ?> at <?= h($host) ?>, database <?= h($name) ?> as <?= h($user) ?></p>
<?php if ($notes): ?>
  <ul>
<?php foreach ($notes as $note): ?>
    <li><?= h((string) $note['id']) ?>: <?= h((string) $note['title']) ?></li>
<?php endforeach; ?>
  </ul>
<?php endif; ?>
<?php else: ?>
  <p id="db-status">database: error: <?= h($reason) ?></p>
<?php endif; ?>
</body>
</html>
