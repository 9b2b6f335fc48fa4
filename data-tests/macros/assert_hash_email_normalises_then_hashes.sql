{#
    hash_email: the lower-case hex SHA-256 of the email trimmed and lower-cased, so that a raw email and the hash a
    partner sends meet on the same key. Expected digests are those of the normalised strings (SHA-256 of '' is the
    well-known e3b0c442...b855). Returns the cases whose result differs.
#}
with

cases as (

    select
        'mixed case and surrounding spaces' as case_name,
        cast(' Alice@Example.COM ' as {{ dbt.type_string() }}) as email,
        'ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976' as expected_sha256
    union all
    select
        'already normalised: the same digest' as case_name,
        cast('alice@example.com' as {{ dbt.type_string() }}) as email,
        'ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976' as expected_sha256
    union all
    select
        'plus address and subdomain' as case_name,
        cast('Bob.Smith+News@Mail.Example.org' as {{ dbt.type_string() }}) as email,
        '69d5d63bfd40a3a0954471b3b0bc4cbbf5785833310b54374949dc4ab1b2eec8' as expected_sha256
    union all
    select
        'only spaces: the empty string' as case_name,
        cast('   ' as {{ dbt.type_string() }}) as email,
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' as expected_sha256
    union all
    select
        'null stays null' as case_name,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as expected_sha256

),

hashed as (

    select
        cases.case_name,
        cases.expected_sha256,
        cast({{ hash_email('cases.email') }} as {{ dbt.type_string() }}) as actual_sha256
    from cases

),

final as (

    select
        hashed.case_name,
        hashed.expected_sha256,
        hashed.actual_sha256
    from hashed
    where hashed.actual_sha256 is distinct from hashed.expected_sha256

)

select * from final
