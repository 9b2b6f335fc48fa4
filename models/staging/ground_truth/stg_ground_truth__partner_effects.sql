{#
    The synthetic generator's true effect of each partner (raw.ground_truth_partner_effects), used only to score the
    attribution models. Empty, with the same columns, when there is no ground truth (real data).
#}
with

source as (

    {{ relation_or_empty(source('ground_truth', 'ground_truth_partner_effects'), [
        ('partner_id', 'varchar'),
        ('true_lift', 'float8'),
        ('true_incremental_conversions', 'float8'),
        ('true_share', 'float8'),
        ('_source_file', 'varchar'),
        ('_loaded_at', 'timestamp with time zone'),
    ]) }}

),

renamed as (

    select
        -- ids
        partner_id,

        -- numerics
        true_lift,
        true_incremental_conversions,
        true_share,

        -- lineage
        _source_file as source_file,
        {{ to_utc('_loaded_at') }} as loaded_at

    from source

)

select * from renamed
