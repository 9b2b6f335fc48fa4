{{ config(
    materialized='state_table',
    scope='customer_key',
    scope_from=['int_touchpoints_resolved', 'int_conversions_converted'],
) }}
{#
    The partner set of every conversion path, as its fingerprint (bit_xor of the distinct members' 64-bit hashes,
    attribution_partner_fingerprint: the identity int_attribution_partner_sets computes for every journey and the
    Shapley model joins on) and its size. One row per attributed conversion.

    Incremental (state_table, scope customer_key): recomputed for the customers whose paths were built again.
#}
with

paths as (

    select * from {{ ref('int_attribution_paths') }}
    {%- if is_state_incremental() %}
    where customer_key in ({{ state_scope_keys() }})
    {%- endif %}

),

final as (

    select
        paths.conversion_id,
        paths.customer_key,
        bit_xor(distinct {{ attribution_partner_fingerprint('paths.partner_id') }}) as partner_set_fingerprint,
        cast(max(paths.path_partner_count) as integer) as partner_count
    from paths
    group by
        paths.conversion_id,
        paths.customer_key

)

select * from final
